import { z } from "zod";
import { parseTimestampMs } from "#shared/events/timestamp.ts";
import { CITIES } from "./cities/index.ts";
import { MarsOptionsError } from "./errors.ts";
import { MAX_BATCH_EVENTS } from "./frames.ts";
import { MARS_DEFAULTS, type MarsOptions } from "./run.ts";

/**
 * The command line and environment of Mars, parsed at the boundary with zod. Values arrive as text (from
 * flags or variables) and leave as typed {@link MarsOptions}; a wrong value is reported with its flag, what
 * is expected and what was given.
 */

/** The original simulator's variables, still honoured: flag > MARS_* variable > these > default. */
export const LEGACY_ENV = {
  sessions: "TOTAL_SESSIONS",
  updateInterval: "UPDATE_INTERVAL",
  url: "WEBSOCKET_URL",
  apiKey: "API_KEY",
} as const;

export type RawOptions = Partial<Record<keyof typeof optionSchemas, string | boolean>>;

const text = z.string({ error: "must be given a value" }).trim();

function wholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max.toLocaleString("en-US")}`;
  return text
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((v) => v >= min && v <= max, message);
}

function decimal(min: number, max: number, { exclusiveMin = false } = {}) {
  const message = `must be a number ${exclusiveMin ? "above" : "from"} ${min} ${exclusiveMin ? "and at most" : "to"} ${max}`;
  return text
    .refine((v) => v !== "" && Number.isFinite(Number(v)), message)
    .transform(Number)
    .refine((v) => (exclusiveMin ? v > min : v >= min) && v <= max, message);
}

const fraction = (max = 1) => decimal(0, max);

const flag = z.union(
  [
    z.boolean(),
    z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => ["true", "1", "yes"].includes(v)),
  ],
  {
    error: "must be true or false",
  },
);

const optionSchemas = {
  sessions: wholeNumber(1, 10_000_000),
  couriers: wholeNumber(1, 100_000),
  city: text.refine((v) => Object.hasOwn(CITIES, v), `must be one of: ${Object.keys(CITIES).join(", ")}`),
  seed: text.min(1, "must not be empty").max(100, "must be at most 100 characters"),
  speed: text.refine(
    (v) => v === "max" || (Number.isFinite(Number(v)) && Number(v) > 0 && Number(v) <= 1_000_000),
    'must be "max" or a number above 0 (simulated seconds per real second, at most 1000000)',
  ),
  start: text.refine(
    (v) => !Number.isNaN(parseTimestampMs(v)),
    "must be an ISO-8601 date-time such as 2024-05-01T00:00:00Z",
  ),
  hours: decimal(0, 24 * 366, { exclusiveMin: true }),
  updateInterval: decimal(0.1, 3600),
  protocol: z.enum(["v1", "v2"], { error: "must be v1 or v2" }),
  batchSize: wholeNumber(1, MAX_BATCH_EVENTS),
  rate: decimal(0, 10_000_000, { exclusiveMin: true }),
  out: text.min(1, "must be a file path"),
  send: flag,
  url: text.refine((v) => /^wss?:\/\/[^\s/]+/.test(v) && URL.canParse(v), "must be a ws:// or wss:// URL"),
  apiKey: text.min(1, "must not be empty"),
  duplicates: fraction(),
  reorder: fraction(),
  malformed: fraction(0.9),
  maxReconnects: wholeNumber(0, 1000),
  window: wholeNumber(1, 100_000),
  cancelRate: fraction(),
  failRate: fraction(),
  gpsNoise: flag,
  progress: z.enum(["auto", "tty", "plain", "off"], { error: "must be auto, tty, plain or off" }),
};

const schema = z.object(
  Object.fromEntries(Object.entries(optionSchemas).map(([k, s]) => [k, s.optional()])) as {
    [K in keyof typeof optionSchemas]: z.ZodOptional<(typeof optionSchemas)[K]>;
  },
);

/** `batchSize` → `--batch-size`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Typed options from raw values. `nowMs` is only used to refuse a `--start` in the future. Throws
 * {@link MarsOptionsError} listing every wrong value.
 */
export function parseMarsOptions(
  raw: RawOptions,
  nowMs = Date.now(),
  sourceOf: (key: string) => string = flagName,
): MarsOptions {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      const given = present[key];
      return `  ${sourceOf(key)} ${issue.message}${given === undefined ? "" : ` (got ${JSON.stringify(given)})`}`;
    });
    throw new MarsOptionsError(`Invalid options:\n${lines.join("\n")}`);
  }
  const o = parsed.data;
  const problems: string[] = [];
  const startMs = o.start === undefined ? undefined : parseTimestampMs(o.start);
  if (startMs !== undefined && startMs > nowMs) {
    problems.push(
      `  --start must not be in the future: events cannot be sent before they happen (got "${o.start}")`,
    );
  }
  const cancelRate = o.cancelRate ?? MARS_DEFAULTS.cancelRate;
  const failRate = o.failRate ?? MARS_DEFAULTS.failRate;
  if (cancelRate + failRate > 1) {
    problems.push(
      `  --cancel-rate and --fail-rate add up to ${cancelRate + failRate}; together they must be at most 1`,
    );
  }
  if (problems.length > 0) throw new MarsOptionsError(`Invalid options:\n${problems.join("\n")}`);
  return {
    sessions: o.sessions ?? MARS_DEFAULTS.sessions,
    couriers: o.couriers,
    city: o.city ?? MARS_DEFAULTS.city,
    seed: o.seed,
    // With a target rate and no speed, the rate alone paces: the simulation runs ahead as needed.
    speed:
      o.speed === undefined
        ? o.rate === undefined
          ? MARS_DEFAULTS.speed
          : "max"
        : o.speed === "max"
          ? "max"
          : Number(o.speed),
    startMs,
    hours: o.hours ?? MARS_DEFAULTS.hours,
    updateIntervalS: o.updateInterval ?? MARS_DEFAULTS.updateIntervalS,
    protocol: o.protocol ?? MARS_DEFAULTS.protocol,
    batchSize: o.batchSize ?? MARS_DEFAULTS.batchSize,
    rate: o.rate,
    out: o.out,
    send: o.send ?? MARS_DEFAULTS.send,
    url: o.url ?? MARS_DEFAULTS.url,
    apiKey: o.apiKey ?? MARS_DEFAULTS.apiKey,
    duplicates: o.duplicates ?? MARS_DEFAULTS.duplicates,
    reorder: o.reorder ?? MARS_DEFAULTS.reorder,
    malformed: o.malformed ?? MARS_DEFAULTS.malformed,
    maxReconnects: o.maxReconnects ?? MARS_DEFAULTS.maxReconnects,
    window: o.window,
    cancelRate,
    failRate,
    gpsNoise: o.gpsNoise ?? MARS_DEFAULTS.gpsNoise,
    progress: o.progress ?? MARS_DEFAULTS.progress,
  };
}

/** Values of the original simulator's variables, for the options no flag or MARS_* variable set. */
export function legacyEnvOptions(env: Record<string, string | undefined>): RawOptions {
  const raw: RawOptions = {};
  for (const [key, variable] of Object.entries(LEGACY_ENV) as [keyof typeof LEGACY_ENV, string][]) {
    const value = env[variable];
    // Empty means unset: compose files pass VAR= for variables that are not defined.
    if (value !== undefined && value !== "") raw[key] = value;
  }
  return raw;
}
