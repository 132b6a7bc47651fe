import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { envSchema, loadConfig } from "#shared/config/index.ts";
import { loadServerlessFile } from "#shared/runtime/index.ts";
import {
  COMPOSE_TEST_SECRETS,
  type ComposeConfig,
  composeRequiredOrAvailable,
  ROOT,
  readComposeConfig,
} from "#test/helpers/compose.ts";
import { loadMercuryConfig, mercuryEnvSchema } from "../../web/server/config.ts";

/**
 * docker-compose.yml checked statically with `docker compose config` (no engine needed). CI installs the
 * compose plugin (scripts/compose.sh); elsewhere the check is skipped where the plugin is missing, unless
 * PACKETPULSE_REQUIRE_COMPOSE is set. The configs it mounts are run against their programs in
 * test/integration/compose-configs.test.ts.
 */

const AWS_SDK_VARIABLES = new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
/** Read by plugins/kafka-event-source.mjs (which functions a container runs), not by PacketPulse's config. */
const LAUNCHER_VARIABLES = new Set(["PACKETPULSE_OFFLINE_FUNCTIONS"]);
const SECRETS = COMPOSE_TEST_SECRETS;
const FUNCTION_SERVICES = ["venus", "jupiter", "neptune", "uranus", "compaction"];
const ONE_SHOT_SERVICES = ["minio-bucket", "migrate"];

function composeConfig(args: string[], env: Record<string, string | undefined>) {
  return spawnSync("docker", ["compose", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    // Secrets set in the surrounding shell would win over the env file: blank them.
    env: { ...process.env, ...Object.fromEntries(Object.keys(SECRETS).map((k) => [k, ""])), ...env },
  });
}

describe.skipIf(!composeRequiredOrAvailable())("docker-compose.yml", () => {
  // Read when the tests run, not when they are collected: a skipped suite's body still runs.
  let config: ComposeConfig;
  beforeAll(() => {
    config = readComposeConfig();
  });

  it("declares the distributed stack, one service per function, with pinned images", () => {
    // Assess
    expect(Object.keys(config.services).sort()).toEqual(
      [
        "clickhouse",
        "compaction",
        "iceberg-rest",
        "jupiter",
        "kafka",
        "localstack",
        "mars",
        "mercury",
        "migrate",
        "minio",
        "minio-bucket",
        "neptune",
        "sqlpad",
        "trino",
        "uranus",
        "venus",
        "venus-gateway",
      ].sort(),
    );
    for (const [name, service] of Object.entries(config.services)) {
      expect(service.image, name).toBeDefined();
      expect(service.image, name).not.toMatch(/:latest$/);
      // An exact release: x.y.z, a single number (Trino), a dated release (MinIO), or the locally built image.
      expect(service.image, name).toMatch(
        /:(\d+\.\d+\.\d+(\.\d+)?(-alpine)?|\d+|RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z)$|^packetpulse\/functions:local$/,
      );
    }
    expect(config.services.mars?.profiles).toEqual(["simulate"]);
  });

  it("gives every function service only settings PacketPulse knows, with valid values", () => {
    for (const name of [...FUNCTION_SERVICES, "migrate"]) {
      // Prepare
      const environment = config.services[name]!.environment!;
      const known = new Set(Object.keys(envSchema.shape));

      // Act
      const unknown = Object.keys(environment).filter(
        (variable) =>
          !known.has(variable) && !AWS_SDK_VARIABLES.has(variable) && !LAUNCHER_VARIABLES.has(variable),
      );
      const parsed = envSchema.safeParse(environment);

      // Assess
      expect(unknown, name).toEqual([]);
      expect(parsed.success, name).toBe(true);
      expect(environment.KAFKA_BOOTSTRAP_SERVERS).toBe("kafka:19092");
      expect(environment.CLICKHOUSE_URL).toBe("http://clickhouse:8123");
      expect(environment.ICEBERG_REST_URL).toBe("http://iceberg-rest:8181");
      expect(environment.BRONZE_WAREHOUSE).toBe("s3://packetpulse/warehouse");
    }
  });

  it("runs each function of serverless.yml in exactly one service, so each scales on its own", () => {
    // Prepare
    const service = loadServerlessFile(path.join(ROOT, "serverless.yml"));
    // Mercury's function is Lambda's form of the dashboard; compose runs its own server (the `mercury` service).
    const functions = Object.keys(service.functions ?? {}).filter(
      (name) => name !== "health" && name !== "mercury",
    );

    // Act
    const runBy = new Map<string, string[]>();
    for (const name of FUNCTION_SERVICES) {
      const listed = config.services[name]!.environment!.PACKETPULSE_OFFLINE_FUNCTIONS!.split(",");
      for (const fn of listed) runBy.set(fn, [...(runBy.get(fn) ?? []), name]);
    }

    // Assess
    for (const fn of functions) expect(runBy.get(fn), fn).toHaveLength(1);
    expect([...runBy.keys()].filter((fn) => !(fn in (service.functions ?? {})))).toEqual([]);
    // Each service also runs `health`, which its health check calls.
    expect(runBy.get("health")?.sort()).toEqual([...FUNCTION_SERVICES].sort());
  });

  it("lets every function run as several replicas: no fixed host ports, no container names", () => {
    for (const name of FUNCTION_SERVICES) {
      expect(config.services[name]!.ports ?? [], name).toEqual([]);
      expect(config.services[name], name).not.toHaveProperty("container_name");
    }
  });

  it("restarts, health-checks and limits every long-running service; one-shot jobs gate the rest", () => {
    for (const [name, service] of Object.entries(config.services)) {
      expect(service.deploy?.resources?.limits?.memory, name).toBeDefined();
      expect(service.deploy?.resources?.limits?.cpus, name).toBeGreaterThan(0);
      if (ONE_SHOT_SERVICES.includes(name) || name === "mars") {
        expect(service.restart, name).toMatch(/^on-failure/);
        continue;
      }
      expect(service.restart, name).toBe("unless-stopped");
      expect(service.healthcheck?.test?.length, name).toBeGreaterThan(0);
    }
    for (const name of FUNCTION_SERVICES) {
      expect(config.services[name]!.depends_on?.migrate?.condition, name).toBe(
        "service_completed_successfully",
      );
    }
    expect(config.services["iceberg-rest"]!.depends_on?.["minio-bucket"]?.condition).toBe(
      "service_completed_successfully",
    );
  });

  it("publishes the original's ports: Venus 8000, Trino 8080, Mercury 3000, none twice", () => {
    // Act
    const published = Object.entries(config.services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, published: Number(port.published), target: port.target })),
    );

    // Assess
    expect(published).toContainEqual({ name: "venus-gateway", published: 8000, target: 8000 });
    expect(published).toContainEqual({ name: "venus-gateway", published: 8001, target: 8001 });
    expect(published).toContainEqual({ name: "trino", published: 8080, target: 8080 });
    expect(published.filter((p) => p.published === 3000)).toEqual([
      { name: "mercury", published: 3000, target: 3000 },
    ]);
    expect(new Set(published.map((p) => p.published)).size).toBe(published.length);
  });

  it("serves Mercury from the built image, reading ClickHouse over HTTP and Kafka, its secrets from .env", () => {
    // Prepare
    const mercury = config.services.mercury!;
    const environment = mercury.environment!;
    const known = new Set([...Object.keys(envSchema.shape), ...Object.keys(mercuryEnvSchema.shape)]);

    // Act
    const unknown = Object.keys(environment).filter((variable) => !known.has(variable));
    const packetpulse = loadConfig(environment);
    const own = loadMercuryConfig(environment);

    // Assess
    expect(unknown).toEqual([]);
    expect(mercury.image).toBe("packetpulse/functions:local");
    expect(mercury.command).toEqual(["npx", "tsx", "web/server/cli.ts"]);
    expect(packetpulse.clickhouse).toMatchObject({ backend: "server", url: "http://clickhouse:8123" });
    expect(packetpulse.eventLog.backend).toBe("kafka");
    expect(own).toMatchObject({ production: true, host: "0.0.0.0", port: 3000, secretIsDefault: false });
    expect(environment.MERCURY_SECRET).toBe(SECRETS.MERCURY_SECRET);
    expect(environment.MERCURY_ADMIN_PASSWORD).toBe(SECRETS.MERCURY_ADMIN_PASSWORD);
    expect(mercury.volumes?.find((v) => v.target === "/data")?.type).toBe("volume");
    expect(mercury.healthcheck?.test).toContain("http://localhost:3000/login");
    expect(mercury.depends_on?.migrate?.condition).toBe("service_completed_successfully");
  });

  it("names Venus's connection table once: LocalStack's init script creates the table Venus uses", () => {
    // Prepare
    const localstack = config.services.localstack!;

    // Act
    const init = localstack.volumes?.find((v) => v.target.startsWith("/etc/localstack/init/ready.d/"));

    // Assess
    expect(init?.source).toBe(path.join(ROOT, "infra/localstack/init-venus.sh"));
    expect(localstack.environment?.SERVICES?.split(",")).toContain("dynamodb");
    for (const name of FUNCTION_SERVICES) {
      expect(config.services[name]!.environment!.VENUS_CONNECTIONS_TABLE, name).toBe(
        localstack.environment?.VENUS_CONNECTIONS_TABLE,
      );
    }
    const text = readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
    expect(text.match(/packetpulse-venus-connections/g)).toHaveLength(1);
  });

  it("fronts Venus's replicas with a gateway that proxies to Venus's own ports", () => {
    // Prepare
    const gateway = config.services["venus-gateway"]!;
    const mount = gateway.volumes?.find((v) => v.target === "/etc/nginx/conf.d/default.conf");
    const conf = readFileSync(mount!.source!, "utf8");
    const venus = config.services.venus!.environment!;

    // Act
    const upstreams = [...conf.matchAll(/set \$\w+ http:\/\/([\w-]+):(\d+);/g)].map((m) => `${m[1]}:${m[2]}`);

    // Assess
    expect(mount?.source).toBe(path.join(ROOT, "infra/nginx/venus.conf"));
    expect(upstreams).toEqual([`venus:${venus.VENUS_PORT}`, `venus:${venus.OFFLINE_HTTP_PORT ?? "8080"}`]);
    expect(gateway.depends_on?.venus?.condition).toBe("service_healthy");
    expect(config.services.mars!.environment!.WEBSOCKET_URL).toBe("ws://venus-gateway:8000/ws");
  });

  it("keeps the REST catalog's database in a volume the image's user (uid 1000) owns", () => {
    // Prepare
    const rest = config.services["iceberg-rest"]!;

    // Act
    const volume = rest.volumes?.find((v) => v.type === "volume");
    const database = /^jdbc:sqlite:file:([^?]+)/.exec(rest.environment?.CATALOG_URI ?? "")?.[1];

    // Assess
    // The image has no /data; /home/iceberg is its user's home (useradd --create-home), so a named volume
    // mounted there is initialised with that owner. A file outside the volume would be lost on restart.
    expect(volume?.target).toBe("/home/iceberg");
    expect(database && path.posix.dirname(database)).toBe("/home/iceberg");
  });

  it("connects SQLPad to Trino's port and catalog (SQLPad 7 runs only as an image: checked statically)", () => {
    // Prepare
    const sqlpad = config.services.sqlpad!.environment!;
    const trino = config.services.trino!;

    // Act
    const catalogs = (trino.volumes ?? [])
      .filter((v) => v.target.startsWith("/etc/trino/catalog/"))
      .map((v) => path.basename(v.target, ".properties"));

    // Assess
    expect(sqlpad.SQLPAD_CONNECTIONS__trino__driver).toBe("trino");
    expect(sqlpad.SQLPAD_CONNECTIONS__trino__host).toBe("trino");
    expect(Number(sqlpad.SQLPAD_CONNECTIONS__trino__port)).toBe(trino.ports?.[0]?.target);
    expect(catalogs).toContain(sqlpad.SQLPAD_CONNECTIONS__trino__catalog);
    expect(sqlpad.SQLPAD_ADMIN_PASSWORD).toBe(SECRETS.SQLPAD_ADMIN_PASSWORD);
    expect(config.services.sqlpad!.depends_on?.trino?.condition).toBe("service_healthy");
  });

  it("refuses to run without the secrets of .env, and .env.example gives none that work", () => {
    // Act
    const withoutEnv = composeConfig(["--env-file", "/dev/null", "config", "--quiet"], {});
    const withExample = composeConfig(["--env-file", ".env.example", "config", "--quiet"], {});

    // Assess
    for (const result of [withoutEnv, withExample]) {
      expect(result.status).not.toBe(0);
      for (const secret of Object.keys(SECRETS)) {
        expect(result.stderr).toContain(`required variable ${secret} is missing a value`);
      }
    }
  });
});
