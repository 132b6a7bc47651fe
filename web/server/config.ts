import path from "node:path";
import { z } from "zod";

/** Mercury's own settings, parsed once from the environment (README.md, "Configuration"). */

export const DEVELOPMENT_ADMIN = { email: "admin@example.com", password: "password" } as const;
const DEVELOPMENT_SECRET = "packetpulse-mercury-development-secret";

const envSchema = z.object({
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
}

export class MercuryConfigError extends Error {
  override name = "MercuryConfigError";
}

export function loadMercuryConfig(env: Record<string, string | undefined> = process.env): MercuryConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${String(issue.path[0])} ${issue.message}`);
    throw new MercuryConfigError(`Mercury's configuration is invalid:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  if (production && e.MERCURY_SECRET === undefined) {
    throw new MercuryConfigError(
      "MERCURY_SECRET is required with NODE_ENV=production (32 characters or more; e.g. `openssl rand -hex 32`)",
    );
  }
  return {
    production,
    host: e.MERCURY_HOST,
    port: e.MERCURY_PORT,
    secret: new TextEncoder().encode(e.MERCURY_SECRET ?? DEVELOPMENT_SECRET),
    secretIsDefault: e.MERCURY_SECRET === undefined,
    sessionHours: e.MERCURY_SESSION_HOURS,
    usersFile: path.join(path.resolve(e.PACKETPULSE_DATA_DIR), "mercury-users.sqlite"),
    ...(e.MAPBOX_ACCESS_TOKEN ? { mapboxAccessToken: e.MAPBOX_ACCESS_TOKEN } : {}),
  };
}
