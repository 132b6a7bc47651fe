import { execFileSync } from "node:child_process";
import path from "node:path";

/** docker-compose.yml as `docker compose config` resolves it (no engine needed), for the tests. */

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** The secrets .env must give; docker compose refuses to run without each. */
export const COMPOSE_TEST_SECRETS = {
  API_KEY: "compose-test-api-key",
  CLICKHOUSE_PASSWORD: "compose-test-clickhouse",
  MINIO_ROOT_PASSWORD: "compose-test-minio",
  SQLPAD_ADMIN_PASSWORD: "compose-test-sqlpad",
  MERCURY_SECRET: "compose-test-mercury-secret-of-32-characters",
  MERCURY_ADMIN_PASSWORD: "compose-test-mercury-admin",
};

export interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  profiles?: string[];
  restart?: string;
  healthcheck?: { test?: string[] };
  ports?: { published?: string; target: number }[];
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { memory?: string; cpus?: number } } };
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
}

export function composeAvailable(): boolean {
  try {
    execFileSync("docker", ["compose", "version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The compose file is checked where the plugin is (CI installs it and sets PACKETPULSE_REQUIRE_COMPOSE). */
export const composeRequiredOrAvailable = () =>
  Boolean(process.env.PACKETPULSE_REQUIRE_COMPOSE) || composeAvailable();

export function readComposeConfig(): ComposeConfig {
  return JSON.parse(
    execFileSync("docker", ["compose", "--profile", "simulate", "config", "--format", "json"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, ...COMPOSE_TEST_SECRETS },
    }),
  ) as ComposeConfig;
}
