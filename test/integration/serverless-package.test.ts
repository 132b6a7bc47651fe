import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHandlers } from "../../scripts/build.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

/** What an operator gives a deployed stage (docs/deploy.md): MSK with IAM access control by default. */
const PROD_SETTINGS = {
  MSK_CLUSTER_ARN:
    "arn:aws:kafka:eu-west-1:123456789012:cluster/packetpulse/6f0c2a3e-1b7d-4c8e-9f10-2a3b4c5d6e7f-3",
  KAFKA_BOOTSTRAP_SERVERS:
    "b-1.packetpulse.abc123.c3.kafka.eu-west-1.amazonaws.com:9098,b-2.packetpulse.abc123.c3.kafka.eu-west-1.amazonaws.com:9098",
  CLICKHOUSE_URL: "https://clickhouse.internal.example:8443",
  CLICKHOUSE_USER: "packetpulse",
  CLICKHOUSE_PASSWORD_PARAMETER: "/packetpulse/prod/clickhouse-password",
  API_KEY_PARAMETER: "/packetpulse/prod/api-key",
  MERCURY_SECRET_PARAMETER: "/packetpulse/prod/mercury-secret",
  VPC_SUBNET_IDS: "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
  VPC_SECURITY_GROUP_IDS: "sg-0a1b2c3d4e5f60718",
  BRONZE_WAREHOUSE: "s3://packetpulse-bronze-prod/warehouse",
  ICEBERG_REST_URL: "https://iceberg.internal.example",
  AWS_REGION: "eu-west-1",
};

/** The same, with SCRAM: the secret MSK keeps its users in, and the KMS key that encrypts it. */
const SCRAM_SETTINGS = {
  ...PROD_SETTINGS,
  MSK_AUTH: "scram",
  KAFKA_BOOTSTRAP_SERVERS: "b-1.packetpulse.abc123.c3.kafka.eu-west-1.amazonaws.com:9096",
  MSK_SCRAM_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_packetpulse-AbCdEf",
  MSK_SCRAM_KMS_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
};

/** Variables of the surrounding shell that would change what is packaged. */
const CLEARED = [
  ...Object.keys(SCRAM_SETTINGS),
  "API_KEY",
  "CLICKHOUSE_PASSWORD",
  "VENUS_CONNECTIONS_TABLE",
  "MERCURY_SECRET",
  "MERCURY_USERS_TABLE",
  "MERCURY_CLICKHOUSE_USER",
  "MERCURY_CLICKHOUSE_PASSWORD_PARAMETER",
];

async function packageStage(out: string, settings: Record<string, string>) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLEARED) delete env[name];
  return run("npx", ["serverless", "package", "--stage", "prod", "--package", out], {
    cwd: ROOT,
    env: { ...env, KAFKA_PARTITIONS: "3", KAFKA_TOPIC: "sessions", ...settings },
    timeout: 120_000,
  });
}

/** Names of the files in a zip (Python's zipfile: CI has Python for moto and pyiceberg). */
async function zipEntries(file: string): Promise<string[]> {
  const { stdout } = await run("python3", [
    "-c",
    "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
    file,
  ]);
  return stdout.trim().split("\n");
}

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
}

const STACK = { partition: "aws", region: "eu-west-1", account: "123456789012", websocketApi: "wsapi123" };

/** A CloudFormation value as the stack would see it: the few intrinsic functions the roles use. */
function evaluate(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(evaluate);
  if (!value || typeof value !== "object") return value;
  const [[fn, args]] = Object.entries(value) as [[string, unknown]];
  switch (fn) {
    case "Ref":
      return (
        { "AWS::Partition": STACK.partition, "AWS::Region": STACK.region, "AWS::AccountId": STACK.account }[
          args as string
        ] ?? (args === "WebsocketsApi" ? STACK.websocketApi : `ref:${args}`)
      );
    case "Fn::GetAtt":
      return `getatt:${(args as string[]).join(".")}`;
    case "Fn::Join": {
      const [separator, items] = args as [string, unknown[]];
      return (evaluate(items) as string[]).join(separator);
    }
    case "Fn::Select": {
      const [index, list] = args as [number, unknown];
      return (evaluate(list) as string[])[index];
    }
    case "Fn::Split": {
      const [separator, text] = args as [string, unknown];
      return String(evaluate(text)).split(separator);
    }
    default:
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v)]));
  }
}

function statementsOf(resources: Record<string, Resource>, role: string): Statement[] {
  const policies = resources[role]!.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

/** The resources a statement names, evaluated, as one string. */
const resourceText = (statement: Statement) => [evaluate(statement.Resource)].flat().join(" ");

/** The evaluated resources of the statements that allow `action`. */
function allowed(statements: Statement[], action: string): string[] {
  return statements
    .filter((s) => [s.Action].flat().includes(action))
    .flatMap((s) => [evaluate(s.Resource)].flat() as string[]);
}

const CLUSTER = "packetpulse/6f0c2a3e-1b7d-4c8e-9f10-2a3b4c5d6e7f-3";
const topicArn = (topic: string) => `arn:aws:kafka:eu-west-1:123456789012:topic/${CLUSTER}/${topic}`;

/** `serverless package` for a deployed stage: the CloudFormation template AWS would receive. */
describe("serverless package", () => {
  const out = mkdtempSync(path.join(tmpdir(), "packetpulse-package-"));
  let resources: Record<string, Resource> = {};

  beforeAll(async () => {
    await buildHandlers();
    await packageStage(out, PROD_SETTINGS);
    const template = JSON.parse(
      readFileSync(path.join(out, "cloudformation-template-update-stack.json"), "utf8"),
    );
    resources = template.Resources;
  }, 150_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("refuses a deployed stage without its real settings, naming each one", async () => {
    // Act
    const refused = await packageStage(path.join(out, "refused"), {}).then(
      () => "",
      (error: { stderr?: string; stdout?: string }) => `${error.stdout}${error.stderr}`,
    );
    const placeholder = await packageStage(path.join(out, "placeholder"), {
      ...PROD_SETTINGS,
      MSK_CLUSTER_ARN:
        "arn:aws:kafka:us-east-1:000000000000:cluster/packetpulse-local/00000000-0000-0000-0000-000000000000-1",
      CLICKHOUSE_URL: "http://localhost:8123",
    }).then(
      () => "",
      (error: { stderr?: string; stdout?: string }) => `${error.stdout}${error.stderr}`,
    );

    // Assess
    expect(refused).toContain("Stage prod cannot be packaged without its real settings");
    for (const name of Object.keys(PROD_SETTINGS).filter((n) => n !== "AWS_REGION")) {
      expect(refused).toContain(`${name} is required`);
    }
    expect(placeholder).toMatch(/MSK_CLUSTER_ARN must be the MSK cluster's ARN/);
    expect(placeholder).toMatch(/CLICKHOUSE_URL must be the ClickHouse server's URL/);
    expect(placeholder).not.toMatch(/VPC_SUBNET_IDS/);
  }, 150_000);

  it("gives each function its own role, nodejs22.x, the VPC, and secrets by parameter name only", () => {
    // Prepare
    const functions = Object.entries(resources).filter(([, r]) => r.Type === "AWS::Lambda::Function");

    // Act
    const roles = functions.map(
      ([, r]) => (r.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0],
    );

    // Assess
    expect(functions).toHaveLength(7);
    expect(new Set(roles).size).toBe(7);
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    for (const [name, fn] of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(fn.Properties.Runtime, name).toBe("nodejs22.x");
      expect(fn.Properties.VpcConfig, name).toEqual({
        SecurityGroupIds: ["sg-0a1b2c3d4e5f60718"],
        SubnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"],
      });
      expect(variables.API_KEY, name).toBe("");
      expect(variables.API_KEY_PARAMETER, name).toBe("/packetpulse/prod/api-key");
      expect(variables.CLICKHOUSE_PASSWORD ?? "", name).toBe("");
      expect(variables.KAFKA_SASL_MECHANISM, name).toBe("aws-msk-iam");
      expect(variables.KAFKA_SSL, name).toBe("true");
      expect(variables.NODE_OPTIONS, name).toBeUndefined();
    }
    const jupiter = resources.JupiterLambdaFunction!.Properties.Environment as {
      Variables: Record<string, string>;
    };
    expect(jupiter.Variables).toMatchObject({
      CLICKHOUSE_URL: "https://clickhouse.internal.example:8443",
      CLICKHOUSE_PASSWORD_PARAMETER: "/packetpulse/prod/clickhouse-password",
    });
  });

  it("allows each function only what it does: its topics, its group, this API, the warehouse prefix", () => {
    // Prepare
    const venus = statementsOf(resources, "VenusRole");
    const jupiter = statementsOf(resources, "JupiterRole");
    const neptune = statementsOf(resources, "NeptuneRole");
    const compaction = statementsOf(resources, "CompactionRole");
    const uranus = statementsOf(resources, "UranusRole");

    // Assess
    expect(allowed(venus, "execute-api:ManageConnections")).toEqual([
      "arn:aws:execute-api:eu-west-1:123456789012:wsapi123/prod/*/@connections/*",
    ]);
    expect(allowed(venus, "kafka-cluster:WriteData").sort()).toEqual(
      [topicArn("sessions"), topicArn("sessions-dlq")].sort(),
    );
    expect(allowed(venus, "ssm:GetParameter")).toEqual([
      "arn:aws:ssm:eu-west-1:123456789012:parameter/packetpulse/prod/api-key",
    ]);
    expect(allowed(jupiter, "kafka-cluster:ReadData")).toEqual([topicArn("sessions")]);
    expect(allowed(jupiter, "kafka-cluster:AlterGroup")).toEqual([
      `arn:aws:kafka:eu-west-1:123456789012:group/${CLUSTER}/packetpulse-jupiter`,
    ]);
    expect(allowed(neptune, "kafka-cluster:AlterGroup")).toEqual([
      `arn:aws:kafka:eu-west-1:123456789012:group/${CLUSTER}/packetpulse-neptune`,
    ]);
    for (const statements of [neptune, compaction]) {
      expect(allowed(statements, "s3:PutObject")).toEqual([
        "arn:aws:s3:::packetpulse-bronze-prod/warehouse/*",
      ]);
      const listing = statements.find((s) => [s.Action].flat().includes("s3:ListBucket"))!;
      expect(evaluate(listing)).toMatchObject({
        Resource: "arn:aws:s3:::packetpulse-bronze-prod",
        Condition: { StringLike: { "s3:prefix": "warehouse/*" } },
      });
    }
    for (const statements of [venus, jupiter, uranus])
      expect(allowed(statements, "s3:PutObject")).toEqual([]);
    expect(uranus.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith("kafka"))).toEqual([]);
    // Only the network-interface and VPC lookups, which take no resource, name "*".
    for (const role of [
      "VenusRole",
      "HealthRole",
      "JupiterRole",
      "NeptuneRole",
      "CompactionRole",
      "UranusRole",
      "MercuryRole",
    ]) {
      for (const statement of statementsOf(resources, role).filter((s) => resourceText(s) === "*")) {
        expect(
          [statement.Action].flat().every((a) => a.startsWith("ec2:")),
          `${role} ${statement.Sid}`,
        ).toBe(true);
      }
    }
  });

  it("bundles each function without source maps into a small zip", async () => {
    for (const fn of ["venus", "health", "jupiter", "neptune", "neptune-compaction", "uranus", "mercury"]) {
      // Act
      const zip = path.join(out, `${fn}.zip`);
      const entries = await zipEntries(zip);

      // Assess
      expect(
        entries.some((entry) => entry.endsWith(".mjs")),
        fn,
      ).toBe(true);
      expect(
        entries.filter((entry) => entry.endsWith(".map")),
        fn,
      ).toEqual([]);
      // Mercury's zip also carries the browser's build (two map libraries, charts): 2.6 MB today.
      expect(statSync(zip).size, fn).toBeLessThan((fn === "mercury" ? 5 : 2) * 1024 * 1024);
    }
  });

  it("packages Mercury with its browser assets, its own table and role, and its key from SSM only", async () => {
    // Prepare
    const mercury = resources.MercuryLambdaFunction!.Properties;
    const variables = (mercury.Environment as { Variables: Record<string, string> }).Variables;
    const statements = statementsOf(resources, "MercuryRole");
    const table = resources.MercuryUsersTable!.Properties;
    const routes = Object.values(resources)
      .filter((r) => r.Type === "AWS::ApiGatewayV2::Route")
      .map((r) => r.Properties.RouteKey);

    // Act
    const entries = await zipEntries(path.join(out, "mercury.zip"));

    // Assess
    expect(variables).toMatchObject({
      NODE_ENV: "production",
      MERCURY_USER_STORE: "dynamodb",
      MERCURY_USERS_TABLE: "packetpulse-mercury-users-prod",
      MERCURY_SECRET: "",
      MERCURY_SECRET_PARAMETER: "/packetpulse/prod/mercury-secret",
      CLICKHOUSE_URL: "https://clickhouse.internal.example:8443",
      CLICKHOUSE_PASSWORD_PARAMETER: "/packetpulse/prod/clickhouse-password",
    });
    expect(routes).toEqual(expect.arrayContaining(["GET /", "ANY /{proxy+}", "GET /health"]));
    expect(entries).toContain("dist/functions/mercury/handler.mjs");
    expect(
      entries.some((e) => /^dist\/functions\/mercury\/client\/assets\/entry\.client-.*\.js$/.test(e)),
    ).toBe(true);
    // Nothing of the other functions, nor the embedded store's native modules.
    expect(entries.filter((e) => !e.startsWith("dist/functions/mercury/"))).toEqual([]);
    expect(table).toMatchObject({
      TableName: "packetpulse-mercury-users-prod",
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    });
    expect(allowed(statements, "dynamodb:PutItem")).toEqual(["getatt:MercuryUsersTable.Arn"]);
    expect(allowed(statements, "ssm:GetParameter").sort()).toEqual([
      "arn:aws:ssm:eu-west-1:123456789012:parameter/packetpulse/prod/clickhouse-password",
      "arn:aws:ssm:eu-west-1:123456789012:parameter/packetpulse/prod/mercury-secret",
    ]);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(
      actions.filter((a) => a.startsWith("kafka") || a.startsWith("s3:") || a.startsWith("execute-api")),
    ).toEqual([]);
    // Venus's connection table is not Mercury's to touch.
    expect(statements.map(resourceText).join(" ")).not.toContain("VenusConnectionsTable");
  });

  it("passes cfn-lint with no errors or warnings, with IAM access control and with SCRAM", async () => {
    // Prepare
    const tools = (await run("bash", [path.join(ROOT, "scripts/aws-tools.sh"), "install"])).stdout.trim();
    const scramOut = path.join(out, "scram");
    await packageStage(scramOut, SCRAM_SETTINGS);
    const scram = JSON.parse(
      readFileSync(path.join(scramOut, "cloudformation-template-update-stack.json"), "utf8"),
    ).Resources as Record<string, Resource>;

    // Act
    const lint = (dir: string) =>
      run(path.join(tools, "cfn-lint"), [path.join(dir, "cloudformation-template-update-stack.json")]).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
      );
    const results = [await lint(out), await lint(scramOut)];

    // Assess
    expect(results).toEqual([
      { code: 0, output: "" },
      { code: 0, output: "" },
    ]);
    const mapping = Object.values(scram).find((r) => r.Type === "AWS::Lambda::EventSourceMapping")!;
    expect(mapping.Properties.SourceAccessConfigurations).toEqual([
      { Type: "SASL_SCRAM_512_AUTH", URI: SCRAM_SETTINGS.MSK_SCRAM_SECRET_ARN },
    ]);
    expect(allowed(statementsOf(scram, "VenusRole"), "secretsmanager:GetSecretValue")).toContain(
      SCRAM_SETTINGS.MSK_SCRAM_SECRET_ARN,
    );
    expect(allowed(statementsOf(scram, "UranusRole"), "secretsmanager:GetSecretValue")).toEqual([]);
    const venus = scram.VenusLambdaFunction!.Properties.Environment as { Variables: Record<string, string> };
    expect(venus.Variables.KAFKA_SASL_MECHANISM).toBe("scram-sha-512");
    expect(venus.Variables.KAFKA_SASL_SECRET_PARAMETER).toBe(
      `/aws/reference/secretsmanager/${SCRAM_SETTINGS.MSK_SCRAM_SECRET_ARN}`,
    );
  }, 300_000);

  it("compiles Jupiter's msk trigger with its error handling, destination and provisioned pollers", () => {
    // Prepare
    const mappings = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::EventSourceMapping");

    // Act
    const jupiter = mappings.find(
      (r) =>
        (r.Properties.FunctionName as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] ===
        "JupiterLambdaFunction",
    );

    // Assess
    expect(jupiter?.Properties).toMatchObject({
      Topics: ["sessions"],
      BatchSize: 10000,
      MaximumBatchingWindowInSeconds: 1,
      StartingPosition: "TRIM_HORIZON",
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: "packetpulse-jupiter" },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      MaximumRetryAttempts: 10,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: "kafka://sessions-jupiter-failed" } },
      ProvisionedPollerConfig: { MinimumPollers: 1 },
    });
    const pollers = jupiter?.Properties.ProvisionedPollerConfig as { MaximumPollers?: unknown } | undefined;
    expect(Number(pollers?.MaximumPollers)).toBe(3);
  });

  it("compiles Neptune's msk trigger with its own consumer group, destination and pollers", () => {
    // Prepare
    const mappings = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::EventSourceMapping");

    // Act
    const neptune = mappings.find(
      (r) =>
        (r.Properties.FunctionName as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] ===
        "NeptuneLambdaFunction",
    );

    // Assess
    expect(neptune?.Properties).toMatchObject({
      Topics: ["sessions"],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: "packetpulse-neptune" },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: { OnFailure: { Destination: "kafka://sessions-neptune-failed" } },
      ProvisionedPollerConfig: { MinimumPollers: 1 },
    });
  });

  it("lets the functions write to the on-failure topic", () => {
    // Prepare
    const jupiter = statementsOf(resources, "JupiterRole");
    const neptune = statementsOf(resources, "NeptuneRole");

    // Act
    const writes = (statements: Statement[]) =>
      statements.filter((s) => [s.Action].flat().includes("kafka-cluster:WriteData")).map(resourceText);

    // Assess
    expect(writes(jupiter).join()).toMatch(/:topic\/.*\/sessions-jupiter-failed/);
    expect(writes(neptune).join()).toMatch(/:topic\/.*\/sessions-neptune-failed/);
  });
});
