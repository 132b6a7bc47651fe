import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { envSchema } from "#shared/config/index.ts";

/**
 * docker-compose.yml checked statically with `docker compose config` (no engine needed). CI installs the
 * compose plugin (scripts/compose.sh); elsewhere the check is skipped where the plugin is missing, unless
 * PACKETPULSE_REQUIRE_COMPOSE is set.
 */
function composeAvailable(): boolean {
  try {
    execFileSync("docker", ["compose", "version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const AWS_SDK_VARIABLES = new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);

interface ComposeConfig {
  services: Record<string, { image?: string; environment?: Record<string, string>; profiles?: string[] }>;
}

const required = Boolean(process.env.PACKETPULSE_REQUIRE_COMPOSE);

describe.skipIf(!required && !composeAvailable())("docker-compose.yml", () => {
  // Read when the tests run, not when they are collected: a skipped suite's body still runs.
  let config: ComposeConfig;
  beforeAll(() => {
    config = JSON.parse(
      execFileSync("docker", ["compose", "--profile", "simulate", "config", "--format", "json"], {
        encoding: "utf8",
        env: { ...process.env, API_KEY: "" },
      }),
    ) as ComposeConfig;
  });

  it("declares the distributed stack with pinned images", () => {
    // Assess
    expect(Object.keys(config.services).sort()).toEqual(
      [
        "clickhouse",
        "functions",
        "iceberg-rest",
        "kafka",
        "localstack",
        "mars",
        "minio",
        "minio-bucket",
        "sqlpad",
        "trino",
      ].sort(),
    );
    for (const [name, service] of Object.entries(config.services)) {
      expect(service.image, name).toBeDefined();
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    expect(config.services.mars?.profiles).toEqual(["simulate"]);
  });

  it("gives the functions only settings PacketPulse knows, with valid values", () => {
    // Prepare
    const environment = config.services.functions!.environment!;
    const known = new Set(Object.keys(envSchema.shape));

    // Act
    const unknown = Object.keys(environment).filter(
      (name) => !known.has(name) && !AWS_SDK_VARIABLES.has(name),
    );
    const parsed = envSchema.safeParse(environment);

    // Assess
    expect(unknown).toEqual([]);
    expect(parsed.success).toBe(true);
    expect(environment.KAFKA_BOOTSTRAP_SERVERS).toBe("kafka:19092");
    expect(environment.CLICKHOUSE_URL).toBe("http://clickhouse:8123");
    expect(environment.ICEBERG_REST_URL).toBe("http://iceberg-rest:8181");
    expect(environment.BRONZE_WAREHOUSE).toBe("s3://packetpulse/warehouse");
  });
});
