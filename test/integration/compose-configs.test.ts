import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COMPOSE_TEST_SECRETS,
  type ComposeConfig,
  composeRequiredOrAvailable,
  ROOT,
  readComposeConfig,
} from "#test/helpers/compose.ts";
import { TestClient, v1Message, v2Ping } from "#test/helpers/platform.ts";
import { freePort, type Spawned, spawnProcess } from "#test/helpers/processes.ts";
import { waitUntil } from "#test/helpers/wait.ts";
import { buildHandlers } from "../../scripts/build.ts";

/**
 * The configs docker-compose.yml mounts or sets, run by their real programs where these run here (Docker
 * does not): LocalStack's init script through the AWS CLI's `awslocal` against moto (LocalStack's own
 * DynamoDB needs downloads); Venus's service as compose configures it, under serverless offline, on the
 * table that script made; the REST catalog's settings on the fixture's server (the jar inside
 * apache/iceberg-rest-fixture). Trino's catalog file is the one scripts/trino.sh gives the Trino of
 * test/integration/functions/neptune/trino.test.ts (compose's hosts replaced); SQLPad 7
 * exists only as an image and is checked statically (test/unit/compose.test.ts).
 */

const run = promisify(execFile);
const dynamoEndpoint = process.env.PACKETPULSE_TEST_DYNAMODB_ENDPOINT;
const s3Endpoint = process.env.PACKETPULSE_TEST_S3_ENDPOINT;
const cache = process.env.PACKETPULSE_CACHE ?? path.join(os.homedir(), ".cache/packetpulse");
const restLibs = path.join(cache, "iceberg-rest-1.10.0/libs");

let compose: ComposeConfig;
beforeAll(() => {
  if (composeRequiredOrAvailable()) compose = readComposeConfig();
});

describe.skipIf(!composeRequiredOrAvailable() || !dynamoEndpoint)(
  "LocalStack's init script and Venus",
  () => {
    const suffix = randomUUID().slice(0, 8);
    const dynamo = new DynamoDBClient({
      endpoint: dynamoEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    let table: string;
    let awsTools: string;

    /** The init script as LocalStack runs it: its environment from compose, `awslocal` on the PATH. */
    const runInitScript = async () => {
      const localstack = compose.services.localstack!;
      const script = localstack.volumes!.find((v) => v.target.startsWith("/etc/localstack/init/ready.d/"))!;
      const { host, port } = new URL(dynamoEndpoint!);
      return run("bash", [script.source!], {
        env: {
          ...process.env,
          ...localstack.environment,
          VENUS_CONNECTIONS_TABLE: table,
          PATH: `${awsTools}:${process.env.PATH}`,
          LOCALSTACK_HOST: host || `127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: "test",
          AWS_SECRET_ACCESS_KEY: "test",
          AWS_DEFAULT_REGION: "us-east-1",
          DISABLE_DEPRECATION_NOTICE: "1",
        },
        timeout: 120_000,
      });
    };

    beforeAll(async () => {
      // The table compose names, made unique here because moto is shared by parallel test runs.
      table = `${compose.services.localstack!.environment!.VENUS_CONNECTIONS_TABLE}-${suffix}`;
      awsTools = (await run("bash", [path.join(ROOT, "scripts/aws-tools.sh"), "install"])).stdout.trim();
    }, 300_000);

    afterAll(async () => {
      await dynamo.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      dynamo.destroy();
    });

    it("creates the connection table with Venus's key and expiry, and runs again without error", async () => {
      // Act
      const first = await runInitScript();
      const second = await runInitScript();
      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: table }));
      const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: table }));

      // Assess
      expect(first.stdout).toContain(`created table ${table}`);
      expect(second.stdout).toContain(`table ${table} exists`);
      expect(Table?.KeySchema).toEqual([{ AttributeName: "connectionId", KeyType: "HASH" }]);
      expect(ttl.TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: "ENABLED",
        AttributeName: "expiresAt",
      });
    }, 120_000);

    describe("the venus service under serverless offline", () => {
      let offline: Spawned;
      let dataDir: string;
      let wsUrl: string;
      let healthUrl: string;
      let ports: { ws: number; http: number };
      const apiKey = COMPOSE_TEST_SECRETS.API_KEY;

      beforeAll(async () => {
        await buildHandlers();
        const venus = compose.services.venus!;
        const [wsPort, httpPort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
        dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-compose-venus-"));
        // Compose's environment for Venus, with the hosts of this machine: moto for LocalStack, the embedded
        // event log for Kafka (the broker is shared by parallel tests), free ports.
        const env: Record<string, string> = {
          ...venus.environment!,
          AWS_ENDPOINT_URL: dynamoEndpoint!,
          VENUS_CONNECTIONS_TABLE: table,
          PACKETPULSE_EVENT_LOG: "embedded",
          KAFKA_BOOTSTRAP_SERVERS: "",
          PACKETPULSE_DATA_DIR: dataDir,
          VENUS_PORT: String(wsPort),
          OFFLINE_HTTP_PORT: String(httpPort),
          OFFLINE_LAMBDA_PORT: String(lambdaPort),
        };
        ports = { ws: wsPort, http: httpPort };
        wsUrl = `ws://127.0.0.1:${wsPort}/ws`;
        healthUrl = `http://127.0.0.1:${httpPort}/health`;
        const [command, ...args] = venus.command!;
        offline = spawnProcess(command!, args, env, ROOT);
        await offline.waitFor("Server ready", 90_000);
      }, 150_000);

      afterAll(async () => {
        await offline?.stop();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      });

      it("runs Venus and its health route only, not the consumers or schedules of other services", async () => {
        // Act
        const health = await fetch(healthUrl);

        // Assess
        expect(health.status).toBe(200);
        expect(offline.output()).toContain("running venus, health only");
        expect(offline.output()).not.toMatch(/consuming|Scheduling \[/);
      });

      it("acknowledges both protocols with connection state in the table the init script made", async () => {
        // Prepare
        const v1 = await TestClient.open(wsUrl);
        const v2 = await TestClient.open(wsUrl, { "x-api-key": apiKey });

        // Act
        const authenticated = await v1.request({ type: "authentication", api_key: apiKey });
        const accepted = await v1.request(JSON.stringify(v1Message()));
        const ack = JSON.parse(
          await v2.request({ type: "events", batch_id: "compose-1", events: [v2Ping()] }),
        );
        const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: table }));
        v1.close();
        v2.close();

        // Assess
        expect(authenticated).toBe('{"status":"authenticated","message":"Authentication successful"}');
        expect(accepted).toBe('{"success":true,"message":"Data received"}');
        expect(ack).toMatchObject({ type: "ack", batch_id: "compose-1", accepted: 1, rejected: 0 });
        expect(Items.map((item) => item.protocol?.S).sort()).toEqual(["v1", "v2"]);
        expect(Items.every((item) => item.authenticated?.BOOL === true)).toBe(true);
      });

      it("is reached through venus-gateway's nginx config: WebSocket on 8000, health on 8001", async () => {
        // Prepare: the mounted config, its compose names and ports replaced by this machine's, under nginx.
        const gateway = compose.services["venus-gateway"]!;
        const mount = gateway.volumes!.find((v) => v.target === "/etc/nginx/conf.d/default.conf")!;
        const nginx = (await run("bash", [path.join(ROOT, "scripts/nginx.sh"), "install"])).stdout.trim();
        const prefix = mkdtempSync(path.join(os.tmpdir(), "packetpulse-compose-nginx-"));
        const [wsPort, healthPort] = [await freePort(), await freePort()];
        const conf = readFileSync(mount.source!, "utf8")
          .replace("listen 8000;", `listen 127.0.0.1:${wsPort};`)
          .replace("listen 8001;", `listen 127.0.0.1:${healthPort};`)
          .replace("http://venus:8000;", `http://127.0.0.1:${ports.ws};`)
          .replace("http://venus:8080;", `http://127.0.0.1:${ports.http};`);
        writeFileSync(path.join(prefix, "venus.conf"), conf);
        // The image's nginx.conf around the mounted file: temporary folders of its own here.
        writeFileSync(
          path.join(prefix, "nginx.conf"),
          [
            `pid ${prefix}/nginx.pid;`,
            "error_log stderr;",
            "events {}",
            "http {",
            "  access_log off;",
            ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
              (t) => `  ${t}_temp_path ${prefix}/${t};`,
            ),
            `  include ${prefix}/venus.conf;`,
            "}",
          ].join("\n"),
        );
        const server = spawnProcess(
          nginx,
          ["-p", prefix, "-c", `${prefix}/nginx.conf`, "-e", "stderr", "-g", "daemon off;"],
          {},
        );
        try {
          const healthUrl = `http://127.0.0.1:${healthPort}/health`;
          const health = await waitUntil(
            async () => {
              const answer = await fetch(healthUrl).catch(() => undefined);
              return answer?.ok ? answer : undefined;
            },
            "an ok /health through nginx",
            20_000,
            { pollMs: 200 },
          ).catch(() => fetch(healthUrl).catch(() => undefined));

          // Act
          const client = await TestClient.open(`ws://127.0.0.1:${wsPort}/ws`);
          const authenticated = await client.request({ type: "authentication", api_key: apiKey });
          const accepted = await client.request(JSON.stringify(v1Message()));
          client.close();

          // Assess
          expect(health?.status, server.output()).toBe(200);
          expect(authenticated).toBe('{"status":"authenticated","message":"Authentication successful"}');
          expect(accepted).toBe('{"success":true,"message":"Data received"}');
        } finally {
          await server.stop();
          rmSync(prefix, { recursive: true, force: true });
        }
      }, 120_000);
    });
  },
);

describe.skipIf(
  !composeRequiredOrAvailable() || !s3Endpoint || !existsSync(path.join(restLibs, ".complete")),
)("the REST catalog's settings on the fixture's server", () => {
  const bucket = `packetpulse-compose-${randomUUID().slice(0, 8)}`;
  let home: string;
  let server: Spawned | undefined;
  let baseUrl: string;
  let env: Record<string, string>;

  /** The server of apache/iceberg-rest-fixture with compose's settings, on this machine's S3 and a port. */
  const startCatalog = async () => {
    server = spawnProcess("java", ["-cp", `${restLibs}/*`, "org.apache.iceberg.rest.RESTCatalogServer"], env);
    const catalog = server;
    await waitUntil(
      async () => {
        if (catalog.child.exitCode !== null) throw new Error(`exited with ${catalog.child.exitCode}`);
        return fetch(`${baseUrl}/v1/config`).then(
          (r) => r.ok,
          () => false,
        );
      },
      "the REST catalog to start",
      90_000,
      { pollMs: 250 },
    ).catch((error: Error) => {
      throw new Error(`the REST catalog did not start (${error.message}):\n${catalog.output()}`);
    });
  };

  beforeAll(async () => {
    const rest = compose.services["iceberg-rest"]!.environment!;
    const volume = compose.services["iceberg-rest"]!.volumes!.find((v) => v.type === "volume")!;
    home = mkdtempSync(path.join(os.tmpdir(), "packetpulse-compose-rest-"));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    expect((await fetch(`${s3Endpoint}/${bucket}`, { method: "PUT" })).status).toBe(200);
    // Compose's values, with the hosts of this machine: its S3 for MinIO (a bucket of its own), a folder
    // for the volume, a free port (the fixture's default 8181 is the shared catalog's).
    env = {
      ...rest,
      CATALOG_S3_ENDPOINT: s3Endpoint!,
      CATALOG_WAREHOUSE: rest.CATALOG_WAREHOUSE!.replace("s3://packetpulse/", `s3://${bucket}/`),
      CATALOG_URI: rest.CATALOG_URI!.replace(volume.target, home),
      CATALOG_REST_PORT: String(port),
    };
    await startCatalog();
  }, 150_000);

  afterAll(async () => {
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("creates a table whose metadata is in the bucket and whose entry survives a restart", async () => {
    // Prepare
    const schema = {
      type: "struct",
      "schema-id": 0,
      fields: [{ id: 1, name: "event_id", required: true, type: "string" }],
    };

    // Act
    const namespace = await fetch(`${baseUrl}/v1/namespaces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ namespace: ["compose_check"] }),
    });
    const created = await fetch(`${baseUrl}/v1/namespaces/compose_check/tables`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "sessions", schema }),
    });
    const { "metadata-location": metadataLocation } = (await created.json()) as {
      "metadata-location": string;
    };
    const s3 = new S3Client({
      endpoint: s3Endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const key = metadataLocation.replace(`s3://${bucket}/`, "");
    const metadata = await s3
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      .finally(() => s3.destroy());
    await server!.stop();
    await startCatalog();
    const reloaded = await fetch(`${baseUrl}/v1/namespaces/compose_check/tables/sessions`);

    // Assess
    expect(namespace.status).toBe(200);
    expect(created.status).toBe(200);
    expect(metadataLocation).toMatch(
      new RegExp(`^s3://${bucket}/warehouse/compose_check/sessions/metadata/`),
    );
    expect(metadata.ContentLength).toBeGreaterThan(0);
    expect(existsSync(path.join(home, "catalog.db"))).toBe(true);
    expect(reloaded.status).toBe(200);
    expect(((await reloaded.json()) as { "metadata-location": string })["metadata-location"]).toBe(
      metadataLocation,
    );
  }, 150_000);
});
