import { randomBytes } from "node:crypto";
import path from "node:path";
import { z } from "zod";

/** Mercury's own settings, parsed once from the environment (README.md, "Configuration"). */

export const DEVELOPMENT_ADMIN = { email: "admin@example.com", password: "password" } as const;
const DEVELOPMENT_SECRET = "packetpulse-mercury-development-secret";

/** Mercury's variables (README.md, "Configuration"). */
export const mercuryEnvSchema = z.object({
  NODE_ENV: z.string().default("development"),
  PACKETPULSE_DATA_DIR: z.string().default(".packetpulse"),
  MERCURY_HOST: z.string().min(1).default("127.0.0.1"),
  MERCURY_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MERCURY_SECRET: z.string().min(32, { error: "must be at least 32 characters" }).optional(),
  MERCURY_SESSION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(12),
  // Sent to every browser: only a public token (pk.…), never a secret one (sk.…).
  MAPBOX_ACCESS_TOKEN: z
    .string()
    .startsWith("pk.", { error: "must be a public Mapbox token (pk.…): it is sent to every browser" })
    .optional(),
  /** Where accounts live: the data folder's SQLite file, or a DynamoDB table (Mercury on Lambda). */
  MERCURY_USER_STORE: z.enum(["sqlite", "dynamodb"]).default("sqlite"),
  MERCURY_USERS_TABLE: z.string().min(3).max(255).default("packetpulse-mercury-users"),
  /** The SSM parameter holding MERCURY_SECRET (deployed stages: the value never sits in the environment). */
  MERCURY_SECRET_PARAMETER: z
    .string()
    .startsWith("/", { error: "must be an SSM parameter name (/…)" })
    .optional(),
  /** Self-service sign-up: off by default; new accounts get the viewer role. */
  MERCURY_SIGNUP: z.enum(["on", "off", "true", "false", "1", "0"]).default("off"),
  /** The first admin, created on an empty store (required in production, where the development login is refused). */
  MERCURY_ADMIN_EMAIL: z.email({ error: "must be an email address" }).optional(),
  MERCURY_ADMIN_PASSWORD: z.string().min(12, { error: "must be at least 12 characters" }).optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  AWS_ENDPOINT_URL: z.url().optional(),
});

export interface MercuryConfig {
  production: boolean;
  host: string;
  port: number;
  /** HMAC key of the session tokens and CSRF tokens. */
  secret: Uint8Array;
  secretIsDefault: boolean;
  sessionHours: number;
  usersFile: string;
  /** Mapbox's public token (pk.…): the maps draw Mapbox's base map with it; offline without. */
  mapboxAccessToken?: string;
  userStore:
    | { backend: "sqlite"; file: string }
    | { backend: "dynamodb"; table: string; region: string; endpoint?: string };
  /** Read from SSM at start-up (resolveMercurySecret); `secret` is a random key until then. */
  secretParameter?: { name: string; region: string; endpoint?: string };
  signup: boolean;
  firstAdmin?: { email: string; password: string };
}

export class MercuryConfigError extends Error {
  override name = "MercuryConfigError";
}

export function loadMercuryConfig(env: Record<string, string | undefined> = process.env): MercuryConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = mercuryEnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${String(issue.path[0])} ${issue.message}`);
    throw new MercuryConfigError(`Mercury's configuration is invalid:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  if (production && e.MERCURY_SECRET === undefined && e.MERCURY_SECRET_PARAMETER === undefined) {
    throw new MercuryConfigError(
      "MERCURY_SECRET is required with NODE_ENV=production (32 characters or more; e.g. `openssl rand -hex 32`), or MERCURY_SECRET_PARAMETER naming the SSM parameter that holds it",
    );
  }
  if (e.MERCURY_SECRET === DEVELOPMENT_SECRET && production) {
    throw new MercuryConfigError("MERCURY_SECRET must be a secret of your own with NODE_ENV=production");
  }
  const usersFile = path.join(path.resolve(e.PACKETPULSE_DATA_DIR), "mercury-users.sqlite");
  const aws = { region: e.AWS_REGION, endpoint: e.AWS_ENDPOINT_URL };
  return {
    production,
    host: e.MERCURY_HOST,
    port: e.MERCURY_PORT,
    // With a parameter, a random key until resolveMercurySecret reads the real one: never a known default.
    secret: e.MERCURY_SECRET_PARAMETER
      ? randomBytes(32)
      : new TextEncoder().encode(e.MERCURY_SECRET ?? DEVELOPMENT_SECRET),
    secretIsDefault: e.MERCURY_SECRET === undefined && e.MERCURY_SECRET_PARAMETER === undefined,
    sessionHours: e.MERCURY_SESSION_HOURS,
    usersFile,
    userStore:
      e.MERCURY_USER_STORE === "dynamodb"
        ? { backend: "dynamodb", table: e.MERCURY_USERS_TABLE, ...aws }
        : { backend: "sqlite", file: usersFile },
    secretParameter: e.MERCURY_SECRET_PARAMETER ? { name: e.MERCURY_SECRET_PARAMETER, ...aws } : undefined,
    signup: ["on", "true", "1"].includes(e.MERCURY_SIGNUP),
    firstAdmin:
      e.MERCURY_ADMIN_EMAIL && e.MERCURY_ADMIN_PASSWORD
        ? { email: e.MERCURY_ADMIN_EMAIL, password: e.MERCURY_ADMIN_PASSWORD }
        : undefined,
    ...(e.MAPBOX_ACCESS_TOKEN ? { mapboxAccessToken: e.MAPBOX_ACCESS_TOKEN } : {}),
  };
}

/** The signing key from SSM when the configuration names a parameter (deployed stages), checked like MERCURY_SECRET. */
export async function resolveMercurySecret(config: MercuryConfig): Promise<MercuryConfig> {
  if (!config.secretParameter) return config;
  const { readParameter } = await import("../../shared/config/parameters.ts");
  const value = await readParameter(config.secretParameter.name, config.secretParameter);
  if (value.length < 32 || value === DEVELOPMENT_SECRET) {
    throw new MercuryConfigError(
      `The parameter ${config.secretParameter.name} must hold a secret of your own of at least 32 characters`,
    );
  }
  return { ...config, secret: new TextEncoder().encode(value) };
}
