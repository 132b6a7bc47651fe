/**
 * Deployed stages (any stage but `local`) need real infrastructure: `serverless package` and `deploy`
 * refuse to start without it, listing every missing or malformed setting, instead of packaging
 * placeholders (an empty CLICKHOUSE_URL would fall back to embedded chDB, which is not in the zips).
 * It also puts the functions in the MSK cluster's VPC (provider.vpc) from VPC_SUBNET_IDS and
 * VPC_SECURITY_GROUP_IDS. See docs/deploy.md.
 */

const MSK_CLUSTER_ARN =
  /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:(\d{12}):cluster\/[A-Za-z0-9-]+\/[0-9a-f-]+(-\d+)?$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:AmazonMSK_[A-Za-z0-9/_+=.@-]+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/;
const PARAMETER_NAME = /^\/[A-Za-z0-9_./-]+$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
/** MSK's TLS listener ports for each access control (in the VPC, and public). */
const MSK_PORTS = { iam: ["9098", "9198"], scram: ["9096", "9196"] };

const list = (value) =>
  (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

function isUrl(value, protocols) {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && !["localhost", "127.0.0.1"].includes(url.hostname);
  } catch {
    return false;
  }
}

/** The problems of a deployed stage's settings, one line each; empty when it can be packaged. */
export function deploySettingsProblems(env) {
  const problems = [];
  const need = (name, ok, what) => {
    if (!env[name]) problems.push(`${name} is required: ${what}`);
    else if (!ok(env[name])) problems.push(`${name} must be ${what} (got ${JSON.stringify(env[name])})`);
  };
  need(
    "MSK_CLUSTER_ARN",
    (v) => MSK_CLUSTER_ARN.test(v) && MSK_CLUSTER_ARN.exec(v)[1] !== "000000000000",
    "the MSK cluster's ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)",
  );
  const auth = env.MSK_AUTH || "iam";
  if (!(auth in MSK_PORTS)) problems.push(`MSK_AUTH must be iam or scram (got ${JSON.stringify(auth)})`);
  const ports = MSK_PORTS[auth] ?? [];
  need(
    "KAFKA_BOOTSTRAP_SERVERS",
    (v) =>
      list(v).length > 0 &&
      list(v).every((s) => /^[^\s:]+:\d{1,5}$/.test(s) && ports.includes(s.split(":")[1])),
    `the cluster's bootstrap brokers for ${auth} access, host:port separated by commas (ports ${ports.join(" or ")})`,
  );
  if (auth === "scram") {
    need(
      "MSK_SCRAM_SECRET_ARN",
      (v) => SECRET_ARN.test(v),
      "the ARN of MSK's SCRAM secret (named AmazonMSK_...)",
    );
    need(
      "MSK_SCRAM_KMS_KEY_ARN",
      (v) => KMS_KEY_ARN.test(v),
      "the ARN of the KMS key that encrypts that secret",
    );
  } else if (env.MSK_SCRAM_SECRET_ARN) {
    problems.push("MSK_SCRAM_SECRET_ARN is set but MSK_AUTH is not scram: set MSK_AUTH=scram, or unset it");
  }
  need(
    "CLICKHOUSE_URL",
    (v) => isUrl(v, ["http:", "https:"]),
    "the ClickHouse server's URL (https://host:8443)",
  );
  need("CLICKHOUSE_USER", (v) => v.length > 0, "the ClickHouse user of the functions");
  need(
    "CLICKHOUSE_PASSWORD_PARAMETER",
    (v) => PARAMETER_NAME.test(v),
    "the name of the SSM SecureString parameter (/packetpulse/prod/clickhouse-password) holding its password",
  );
  need(
    "API_KEY_PARAMETER",
    (v) => PARAMETER_NAME.test(v),
    "the name of the SSM SecureString parameter (/packetpulse/prod/api-key) holding the devices' API key",
  );
  need(
    "MERCURY_SECRET_PARAMETER",
    (v) => PARAMETER_NAME.test(v),
    "the name of the SSM SecureString parameter (/packetpulse/prod/mercury-secret) holding Mercury's signing key",
  );
  need(
    "VPC_SUBNET_IDS",
    (v) => list(v).length > 0 && list(v).every((id) => SUBNET_ID.test(id)),
    "the private subnets of the MSK cluster's VPC, subnet-... separated by commas",
  );
  need(
    "VPC_SECURITY_GROUP_IDS",
    (v) => list(v).length > 0 && list(v).every((id) => SECURITY_GROUP_ID.test(id)),
    "security groups that may reach the brokers and ClickHouse, sg-... separated by commas",
  );
  need(
    "BRONZE_WAREHOUSE",
    (v) => /^s3:\/\/[a-z0-9.-]{3,63}\/[^/].*$/.test(v),
    "the bronze warehouse, s3://bucket/prefix",
  );
  need("ICEBERG_REST_URL", (v) => isUrl(v, ["http:", "https:"]), "the Iceberg REST catalog's URL");
  return problems;
}

/** Roles of the functions that are Kafka clients (their own, or their event source mapping's). */
const KAFKA_CLIENT_ROLES = ["VenusRole", "HealthRole", "JupiterRole", "NeptuneRole"];

/**
 * With SCRAM, Lambda's event source mappings and the functions' own Kafka clients read MSK's secret, which
 * MSK requires to be encrypted with a customer managed KMS key; the functions read it through its
 * Parameter Store reference (/aws/reference/secretsmanager/...).
 */
export function scramSecretStatement(env) {
  return {
    Sid: "ReadScramSecret",
    Effect: "Allow",
    Action: ["secretsmanager:GetSecretValue", "kms:Decrypt", "ssm:GetParameter"],
    Resource: [
      env.MSK_SCRAM_SECRET_ARN,
      env.MSK_SCRAM_KMS_KEY_ARN,
      {
        "Fn::Join": [
          "",
          [
            "arn:",
            { Ref: "AWS::Partition" },
            ":ssm:",
            { Ref: "AWS::Region" },
            ":",
            { Ref: "AWS::AccountId" },
            ":parameter/aws/reference/secretsmanager/*",
          ],
        ],
      },
    ],
  };
}

/** Names every Ref and Fn::GetAtt inside a value refers to. */
function referencedResources(value, found = new Set()) {
  if (Array.isArray(value)) {
    for (const item of value) referencedResources(item, found);
  } else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (key === "Ref" && typeof inner === "string") found.add(inner);
      else if (key === "Fn::GetAtt") found.add(Array.isArray(inner) ? inner[0] : String(inner).split(".")[0]);
      else referencedResources(inner, found);
    }
  }
  return found;
}

/**
 * Drops the DependsOn entries a resource's own Ref or GetAtt already implies (osls adds some, e.g. on the
 * function's role): CloudFormation orders them anyway, and cfn-lint warns about each (W3005).
 */
export function dropImpliedDependencies(resources) {
  for (const resource of Object.values(resources)) {
    if (!resource.DependsOn) continue;
    const implied = referencedResources(resource.Properties ?? {});
    const dependsOn = [resource.DependsOn].flat().filter((name) => !implied.has(name));
    if (dependsOn.length === 0) delete resource.DependsOn;
    else resource.DependsOn = dependsOn;
  }
}

export default class DeploySettingsPlugin {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options ?? {};
    this.hooks = {
      "before:package:initialize": () => this.check(),
      "before:package:finalize": () => this.finishTemplate(),
    };
  }

  get deployed() {
    return (this.options.stage ?? this.serverless.service.provider.stage ?? "local") !== "local";
  }

  finishTemplate() {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate?.Resources ?? {};
    dropImpliedDependencies(resources);
    if (this.deployed && (process.env.MSK_AUTH ?? "iam") === "scram") {
      // serverless.yml's own resources, merged into the template after this hook.
      const own = this.serverless.service.resources?.Resources ?? {};
      for (const role of KAFKA_CLIENT_ROLES) {
        // The roles share YAML anchors: give each its own statement list before adding to it.
        const document = own[role].Properties.Policies[0].PolicyDocument;
        document.Statement = [...document.Statement, scramSecretStatement(process.env)];
      }
    }
  }

  check() {
    const stage = this.options.stage ?? this.serverless.service.provider.stage ?? "local";
    if (stage === "local") return;
    const problems = deploySettingsProblems(process.env);
    if (problems.length > 0) {
      const ErrorClass = this.serverless.classes?.Error ?? Error;
      throw new ErrorClass(
        `Stage ${stage} cannot be packaged without its real settings (docs/deploy.md):\n  ${problems.join("\n  ")}`,
      );
    }
    this.serverless.service.provider.vpc = {
      subnetIds: list(process.env.VPC_SUBNET_IDS),
      securityGroupIds: list(process.env.VPC_SECURITY_GROUP_IDS),
    };
  }
}
