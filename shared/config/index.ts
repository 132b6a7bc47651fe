import { randomBytes } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { ConfigError } from "#shared/errors.ts";
import type { WarehouseConfig } from "#shared/iceberg/open.ts";

/**
 * The one place where PacketPulse reads its environment. Every variable is parsed with zod; defaults give
 * the embedded mode (no servers). A wrong value stops start-up with the variable's name and what is expected.
 */

const port = (fallback: number) =>
  z.coerce
    .number({ error: "must be a TCP port number" })
    .int("must be a whole number")
    .min(1, "must be a TCP port between 1 and 65535")
    .max(65535, "must be a TCP port between 1 and 65535")
    .default(fallback);

const positiveInt = (fallback: number, max: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, `must be between 1 and ${max}`)
    .max(max, `must be between 1 and ${max}`)
    .default(fallback);

const boolean = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
    .transform((v) => v === "true" || v === "1" || v === "yes")
    .default(fallback);

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const topicName = (fallback: string) =>
  z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, "must be a Kafka topic name (letters, digits, '.', '_', '-')")
    .default(fallback);

const bootstrapServers = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional()
  .refine(
    (v) => v === undefined || v.split(",").every((s) => /^[^\s:,]+:\d{1,5}$/.test(s.trim())),
    "must be a comma-separated list of host:port (for example localhost:9092)",
  );

const icebergName = (fallback: string) =>
  z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/, "must be an Iceberg name (letters, digits, '_')")
    .default(fallback);

/** Levels of LOG_LEVEL, most detailed first; each shows its own lines and those of the levels after it. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const logLevelSchema = z.enum(LOG_LEVELS, { error: "must be debug, info, warn or error" }).default("info");

/**
 * The development API key: the original platform's default, so its devices work unchanged against
 * `npm start`. Documented keys never work in production (see {@link loadConfig}).
 */
export const DEVELOPMENT_API_KEY = "mars-secret-key";
/** Keys that were ever documented as defaults; none of them is accepted in production. */
const DOCUMENTED_API_KEYS: readonly string[] = [DEVELOPMENT_API_KEY, "packetpulse-dev-key"];

const ratio = (fallback: number) =>
  z.coerce
    .number({ error: "must be a number between 0 and 1" })
    .gt(0, "must be more than 0 and at most 1 (1 never closes)")
    .max(1, "must be more than 0 and at most 1 (1 never closes)")
    .default(fallback);

const wholeNumber = (fallback: number, min: number, max: number, unit: string) =>
  z.coerce
    .number({ error: `must be a number of ${unit}` })
    .int("must be a whole number")
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`)
    .default(fallback);
const clickhouseUser = (fallback: string) =>
  z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$/, "must be a user name (letters, digits, '_', '.', '-')")
    .default(fallback);

/**
 * Development secrets of the embedded store's HTTP interface. They are public (they are in this file), so a
 * process with NODE_ENV=production refuses to serve the interface with them.
 */
export const DEV_SECRETS = {
  CLICKHOUSE_WRITER_PASSWORD: "packetpulse-dev-writer",
  CLICKHOUSE_READER_PASSWORD: "packetpulse-dev-reader",
} as const;

export const envSchema = z.object({
  PACKETPULSE_DATA_DIR: z.string().min(1, "must be a folder path").default("./.packetpulse"),
  PACKETPULSE_EVENT_LOG: z.enum(["embedded", "kafka"], { error: "must be 'embedded' or 'kafka'" }).optional(),
  KAFKA_BOOTSTRAP_SERVERS: bootstrapServers,
  KAFKA_TOPIC: topicName("sessions"),
  KAFKA_DLQ_TOPIC: topicName("sessions-dlq"),
  KAFKA_PARTITIONS: positiveInt(3, 1000),
  KAFKA_REPLICATION_FACTOR: positiveInt(1, 10),
  KAFKA_CLIENT_ID: z.string().min(1).default("packetpulse"),
  KAFKA_SSL: boolean(false),
  KAFKA_SASL_MECHANISM: z
    .enum(["plain", "scram-sha-256", "scram-sha-512", "aws-msk-iam"], {
      error: "must be plain, scram-sha-256, scram-sha-512 or aws-msk-iam",
    })
    .optional(),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,
  /** SSM parameter (or Secrets Manager reference) holding MSK's SCRAM secret, {"username","password"}. */
  KAFKA_SASL_SECRET_PARAMETER: optionalString,
  EVENT_LOG_RETENTION_HOURS: positiveInt(168, 24 * 365 * 10),
  API_KEY: z.string().min(8, "must be at least 8 characters").default(DEVELOPMENT_API_KEY),
  /** SSM parameter holding the API key (deployed stages); replaces API_KEY. */
  API_KEY_PARAMETER: optionalString,
  NODE_ENV: z.string().optional(),
  AWS_LAMBDA_FUNCTION_NAME: optionalString,
  IS_OFFLINE: optionalString,
  VENUS_HOST: z.string().min(1).default("127.0.0.1"),
  VENUS_PORT: port(8000),
  VENUS_MAX_CONNECTIONS: wholeNumber(10_000, 1, 1_000_000, "connections"),
  VENUS_MAX_CONNECTIONS_PER_ADDRESS: wholeNumber(1_000, 1, 1_000_000, "connections"),
  VENUS_AUTH_TIMEOUT_MS: wholeNumber(10_000, 100, 3_600_000, "milliseconds"),
  VENUS_AUTH_FAILURES_PER_MINUTE: wholeNumber(10, 0, 1_000_000, "failures"),
  VENUS_REJECTION_WINDOW: wholeNumber(1_000, 1, 1_000_000, "events"),
  VENUS_REJECTION_CLOSE_RATIO: ratio(0.9),
  VENUS_REPLY_BUFFER_PAUSE_KB: wholeNumber(1024, 16, 1_048_576, "kilobytes"),
  VENUS_REPLY_BUFFER_CLOSE_KB: wholeNumber(8192, 16, 1_048_576, "kilobytes"),
  VENUS_REPLY_STALL_CLOSE_MS: wholeNumber(30_000, 100, 3_600_000, "milliseconds"),
  VENUS_CONNECTION_STORE: z
    .enum(["sqlite", "dynamodb"], { error: "must be 'sqlite' or 'dynamodb'" })
    .default("sqlite"),
  VENUS_CONNECTIONS_TABLE: z.string().min(3).default("packetpulse-venus-connections"),
  VENUS_MANAGEMENT_ENDPOINT: z
    .url({ error: "must be a URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod" })
    .optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  AWS_ENDPOINT_URL: z.url({ error: "must be a URL such as http://localhost:4566" }).optional(),
  LOG_LEVEL: logLevelSchema,
  CLICKHOUSE_URL: z
    .url({ error: "must be a URL such as http://localhost:8123 (leave unset for embedded chDB)" })
    .optional(),
  CLICKHOUSE_USER: z.string().min(1).default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  /** SSM parameter holding ClickHouse's password (deployed stages); replaces CLICKHOUSE_PASSWORD. */
  CLICKHOUSE_PASSWORD_PARAMETER: optionalString,
  BRONZE_NAMESPACE: icebergName("default"),
  BRONZE_TABLE: icebergName("sessions"),
  BRONZE_WAREHOUSE: optionalString.refine(
    (v) => v === undefined || /^s3a?:\/\/[^/]+/.test(v) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(v),
    "must be a folder path or an s3://bucket/prefix location",
  ),
  ICEBERG_REST_URL: z
    .url({ error: "must be a URL such as http://localhost:8181 (leave unset for the file-system catalog)" })
    .optional(),
  ICEBERG_REST_TOKEN: optionalString,
  S3_ENDPOINT: z
    .url({ error: "must be a URL such as http://localhost:9000 (leave unset for AWS S3)" })
    .optional(),
  S3_FORCE_PATH_STYLE: boolean(false),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  BRONZE_COMMIT_INTERVAL_MS: z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number")
    .min(0, "must be 0 or more")
    .max(600_000, "must be at most 600000 (10 minutes)")
    .default(5000),
  BRONZE_COMMIT_ROWS: positiveInt(10_000, 1_000_000),
  BRONZE_WRITE_THREADS: z.coerce
    .number({ error: "must be a number of threads" })
    .int("must be a whole number")
    .min(1, "must be between 1 and 64")
    .max(64, "must be between 1 and 64")
    .optional(),
  SILVER_THREADS: z.coerce
    .number({ error: "must be a number of threads" })
    .int("must be a whole number")
    .min(1, "must be between 1 and 64")
    .max(64, "must be between 1 and 64")
    .optional(),
  BRONZE_COMPACTION_TARGET_MB: positiveInt(128, 4096),
  BRONZE_SNAPSHOT_RETENTION_HOURS: positiveInt(24, 24 * 365),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/, "must be a ClickHouse database name (letters, digits, '_')")
    .default("packetpulse"),
  URANUS_ACTIVE_MINUTES: positiveInt(10, 24 * 60),
  URANUS_OFFLINE_MINUTES: positiveInt(30, 7 * 24 * 60),
  URANUS_LOOKBACK_MINUTES: positiveInt(15, 7 * 24 * 60),
  CLICKHOUSE_HTTP_HOST: z.string().min(1).default("127.0.0.1"),
  CLICKHOUSE_HTTP_PORT: z
    .union([z.literal("off"), z.coerce.number().int().min(0).max(65535)], {
      error: "must be a TCP port number (0: any free port) or off",
    })
    .default(8123),
  CLICKHOUSE_WRITER_USER: clickhouseUser("packetpulse"),
  CLICKHOUSE_WRITER_PASSWORD: z.string().default(DEV_SECRETS.CLICKHOUSE_WRITER_PASSWORD),
  CLICKHOUSE_READER_USER: clickhouseUser("reader"),
  CLICKHOUSE_READER_PASSWORD: z.string().default(DEV_SECRETS.CLICKHOUSE_READER_PASSWORD),
  CLICKHOUSE_READER_MAX_EXECUTION_SECONDS: positiveInt(60, 24 * 3600),
  CLICKHOUSE_READER_MAX_ROWS_TO_READ: positiveInt(1_000_000_000, Number.MAX_SAFE_INTEGER),
  CLICKHOUSE_READER_MAX_MEMORY_MB: positiveInt(2048, 1024 * 1024),
});

export type Env = z.infer<typeof envSchema>;

/**
 * Kafka authentication: a user and password (plain, SCRAM), SCRAM with the pair read from a parameter at
 * start-up (MSK's SCRAM secret), or MSK's IAM access control (a token signed with the function's role).
 */
export type KafkaSasl =
  | { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string }
  | {
      mechanism: "scram-sha-256" | "scram-sha-512";
      secretParameter: string;
      region: string;
      endpoint?: string;
    }
  | { mechanism: "aws-msk-iam"; region: string };

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  sasl?: KafkaSasl;
  replicationFactor: number;
}

export interface PacketPulseConfig {
  /**
   * Whether this is a production deployment (`NODE_ENV=production`, or a Lambda function that is not
   * serverless offline): documented default secrets are refused there.
   */
  production: boolean;
  dataDir: string;
  eventLog: { backend: "embedded" | "kafka"; kafka?: KafkaConfig; retentionHours: number };
  topics: { sessions: string; deadLetter: string; partitions: number };
  venus: {
    host: string;
    port: number;
    apiKey: string;
    /** SSM parameter to read the API key from at start-up (deployed stages), in place of `apiKey`. */
    apiKeyParameter?: string;
    /** `API_KEY` is unset or a documented default: fine for development, refused in production. */
    apiKeyIsDefault: boolean;
    limits: {
      authFailuresPerMinute: number;
      rejectionWindow: number;
      rejectionCloseRatio: number;
    };
    serverLimits: {
      maxConnections: number;
      maxConnectionsPerAddress: number;
      authTimeoutMs: number;
      replyBufferPauseBytes: number;
      replyBufferCloseBytes: number;
      replyStallCloseMs: number;
    };
    connectionStore: "sqlite" | "dynamodb";
    connectionsTable: string;
    /** API Gateway management API; derived from the request when unset. */
    managementEndpoint?: string;
  };
  aws: { region: string; endpoint?: string };
  logLevel: Env["LOG_LEVEL"];
  clickhouse: ClickHouseConfig;
  /** ClickHouse's HTTP interface over the embedded store, served by the process that owns it. */
  clickhouseHttp: ClickHouseHttpConfig;
  bronze: BronzeConfig;
  /** Threads that share a silver batch's CPU work (this one included); unset: up to 2 cores. */
  silverThreads?: number;
  uranus: UranusConfig;
}

/**
 * Neptune's Iceberg table: a warehouse folder in the data folder with a file-system catalog by default,
 * or S3 storage with an Iceberg REST catalog (ICEBERG_REST_URL).
 */
export interface BronzeConfig {
  namespace: string;
  table: string;
  warehouse: WarehouseConfig;
  /** Least time between two commits of one process when batches are small. */
  commitIntervalMs: number;
  /** A batch of at least this many rows commits at once, whatever the interval. */
  commitRows: number;
  compactionTargetBytes: number;
  snapshotRetentionMs: number;
  /** Threads that encode a batch's Parquet files (this one included); unset: up to 2 cores. */
  writeThreads?: number;
}

/** Gold (Uranus) thresholds; see docs/metrics.md. */
export interface UranusConfig {
  /** A session not heard from for this long is no longer active. */
  activeAfterMinutes: number;
  /** A vehicle not heard from for this long is offline (idle before that, unless it has an active session). */
  offlineAfterMinutes: number;
  /** Incremental models recompute what silver received since the previous run's time minus this overlap. */
  lookbackMinutes: number;
}

/** Silver and gold store: embedded chDB in the data folder, or a ClickHouse server when `url` is set. */
export type ClickHouseConfig =
  | { backend: "embedded"; path: string; database: string }
  | {
      backend: "server";
      url: string;
      username: string;
      password: string;
      /** SSM parameter to read the password from when the store is opened, in place of `password`. */
      passwordParameter?: { name: string; region: string; endpoint?: string };
      database: string;
    };

/** A user of the embedded store's HTTP interface. */
export interface ClickHouseHttpUser {
  name: string;
  password: string;
}

/** The HTTP interface of the embedded store: where it listens and who may use it. */
export interface ClickHouseHttpConfig {
  /** `false` when CLICKHOUSE_HTTP_PORT=off. */
  enabled: boolean;
  host: string;
  /** 0: any free port. */
  port: number;
  /** The platform's own writer: DDL and inserts (the migrations, Jupiter, Uranus through the interface). */
  writer: ClickHouseHttpUser;
  /** Tools and people: `readonly` (no writes, no DDL) with the limits below on every query. */
  reader: ClickHouseHttpUser & {
    limits: { max_execution_time: number; max_rows_to_read: number; max_memory_usage: number };
  };
}

/** Formats zod issues as `NAME must ... (got "value")`, one per line. */
function describeIssues(
  error: z.ZodError,
  env: Record<string, string | undefined>,
  variable?: string,
): string {
  return error.issues
    .map((issue) => {
      const name = String(issue.path[0] ?? variable ?? "environment");
      const got = env[name];
      return `  ${name} ${issue.message}${got === undefined ? "" : ` (got ${JSON.stringify(got)})`}`;
    })
    .join("\n");
}

function kafkaSasl(e: Env): KafkaSasl | undefined {
  const mechanism = e.KAFKA_SASL_MECHANISM;
  if (!mechanism) return undefined;
  if (mechanism === "aws-msk-iam") return { mechanism, region: e.AWS_REGION };
  if (mechanism !== "plain" && e.KAFKA_SASL_SECRET_PARAMETER) {
    return {
      mechanism,
      secretParameter: e.KAFKA_SASL_SECRET_PARAMETER,
      region: e.AWS_REGION,
      endpoint: e.AWS_ENDPOINT_URL,
    };
  }
  return { mechanism, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! };
}

/**
 * LOG_LEVEL alone, for the logger (shared/logging), which every part uses before or without the rest of the
 * configuration. Same rule and same error as {@link loadConfig}.
 */
export function loadLogLevel(env: Record<string, string | undefined> = process.env): LogLevel {
  const value = env.LOG_LEVEL === "" ? undefined : env.LOG_LEVEL;
  const parsed = logLevelSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration:\n${describeIssues(parsed.error, { LOG_LEVEL: value }, "LOG_LEVEL")}`,
    );
  }
  return parsed.data;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): PacketPulseConfig {
  // Empty strings mean "not set": docker-compose and shells often pass VAR= for unset values.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${describeIssues(parsed.error, present)}`);
  }
  const e = parsed.data;
  const backend = e.PACKETPULSE_EVENT_LOG ?? (e.KAFKA_BOOTSTRAP_SERVERS ? "kafka" : "embedded");
  if (backend === "kafka" && !e.KAFKA_BOOTSTRAP_SERVERS) {
    throw new ConfigError(
      "Invalid configuration:\n  KAFKA_BOOTSTRAP_SERVERS is required when PACKETPULSE_EVENT_LOG=kafka (for example localhost:9092)",
    );
  }
  const saslMechanism = e.KAFKA_SASL_MECHANISM;
  if (saslMechanism === "aws-msk-iam" && !e.KAFKA_SSL) {
    throw new ConfigError(
      "Invalid configuration:\n  KAFKA_SSL must be true with KAFKA_SASL_MECHANISM=aws-msk-iam (MSK's IAM listener is TLS, port 9098)",
    );
  }
  const scramFromParameter = saslMechanism?.startsWith("scram") && e.KAFKA_SASL_SECRET_PARAMETER;
  if (
    saslMechanism &&
    saslMechanism !== "aws-msk-iam" &&
    !scramFromParameter &&
    (!e.KAFKA_SASL_USERNAME || !e.KAFKA_SASL_PASSWORD)
  ) {
    throw new ConfigError(
      `Invalid configuration:\n  KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required when KAFKA_SASL_MECHANISM is set${saslMechanism.startsWith("scram") ? " (or, for SCRAM, KAFKA_SASL_SECRET_PARAMETER)" : ""}`,
    );
  }
  if (e.BRONZE_WAREHOUSE?.startsWith("s3") && !e.ICEBERG_REST_URL) {
    throw new ConfigError(
      "Invalid configuration:\n  ICEBERG_REST_URL is required when BRONZE_WAREHOUSE is an s3:// location (S3 has no atomic rename for a file-system catalog)",
    );
  }
  if (e.ICEBERG_REST_URL && e.BRONZE_WAREHOUSE && !e.BRONZE_WAREHOUSE.startsWith("s3")) {
    throw new ConfigError(
      "Invalid configuration:\n  BRONZE_WAREHOUSE must be an s3://bucket/prefix location when ICEBERG_REST_URL is set",
    );
  }
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError(
      "Invalid configuration:\n  S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or neither, for the default AWS credentials)",
    );
  }
  if (e.VENUS_REPLY_BUFFER_CLOSE_KB <= e.VENUS_REPLY_BUFFER_PAUSE_KB) {
    throw new ConfigError(
      "Invalid configuration:\n  VENUS_REPLY_BUFFER_CLOSE_KB must be larger than VENUS_REPLY_BUFFER_PAUSE_KB",
    );
  }
  if (e.KAFKA_TOPIC === e.KAFKA_DLQ_TOPIC) {
    throw new ConfigError("Invalid configuration:\n  KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC");
  }
  if (e.CLICKHOUSE_WRITER_USER === e.CLICKHOUSE_READER_USER) {
    throw new ConfigError(
      "Invalid configuration:\n  CLICKHOUSE_READER_USER must differ from CLICKHOUSE_WRITER_USER",
    );
  }
  const httpEnabled = !e.CLICKHOUSE_URL && e.CLICKHOUSE_HTTP_PORT !== "off";
  if (httpEnabled && e.NODE_ENV === "production") {
    // A default secret is public: in production the interface would be open to anyone who reads this code.
    for (const name of Object.keys(DEV_SECRETS) as (keyof typeof DEV_SECRETS)[]) {
      const value = present[name];
      if (value === undefined || value === DEV_SECRETS[name]) {
        throw new ConfigError(
          `Invalid configuration:\n  ${name} must be set to a secret of your own when NODE_ENV=production (${value === undefined ? "it is unset" : "it is the public development default"}; or set CLICKHOUSE_HTTP_PORT=off)`,
        );
      }
    }
  }
  const kafka: KafkaConfig | undefined = e.KAFKA_BOOTSTRAP_SERVERS
    ? {
        brokers: e.KAFKA_BOOTSTRAP_SERVERS.split(",").map((s) => s.trim()),
        clientId: e.KAFKA_CLIENT_ID,
        ssl: e.KAFKA_SSL,
        sasl: kafkaSasl(e),
        replicationFactor: e.KAFKA_REPLICATION_FACTOR,
      }
    : undefined;
  const production =
    e.NODE_ENV === "production" || (e.AWS_LAMBDA_FUNCTION_NAME !== undefined && e.IS_OFFLINE === undefined);
  return {
    production,
    dataDir: path.resolve(e.PACKETPULSE_DATA_DIR),
    eventLog: { backend, kafka, retentionHours: e.EVENT_LOG_RETENTION_HOURS },
    topics: { sessions: e.KAFKA_TOPIC, deadLetter: e.KAFKA_DLQ_TOPIC, partitions: e.KAFKA_PARTITIONS },
    venus: {
      host: e.VENUS_HOST,
      port: e.VENUS_PORT,
      // With API_KEY_PARAMETER the key is read from SSM when Venus opens (functions/venus/runtime.ts); until
      // then no default stands in for it, so nothing compares a caller's key with a public one.
      apiKey: e.API_KEY_PARAMETER ? randomBytes(32).toString("hex") : e.API_KEY,
      apiKeyParameter: e.API_KEY_PARAMETER,
      // A key read from a parameter is the operator's own, whatever API_KEY's default is.
      apiKeyIsDefault: !e.API_KEY_PARAMETER && DOCUMENTED_API_KEYS.includes(e.API_KEY),
      limits: {
        authFailuresPerMinute: e.VENUS_AUTH_FAILURES_PER_MINUTE,
        rejectionWindow: e.VENUS_REJECTION_WINDOW,
        rejectionCloseRatio: e.VENUS_REJECTION_CLOSE_RATIO,
      },
      serverLimits: {
        maxConnections: e.VENUS_MAX_CONNECTIONS,
        maxConnectionsPerAddress: e.VENUS_MAX_CONNECTIONS_PER_ADDRESS,
        authTimeoutMs: e.VENUS_AUTH_TIMEOUT_MS,
        replyBufferPauseBytes: e.VENUS_REPLY_BUFFER_PAUSE_KB * 1024,
        replyBufferCloseBytes: e.VENUS_REPLY_BUFFER_CLOSE_KB * 1024,
        replyStallCloseMs: e.VENUS_REPLY_STALL_CLOSE_MS,
      },
      connectionStore: e.VENUS_CONNECTION_STORE,
      connectionsTable: e.VENUS_CONNECTIONS_TABLE,
      managementEndpoint: e.VENUS_MANAGEMENT_ENDPOINT,
    },
    aws: { region: e.AWS_REGION, endpoint: e.AWS_ENDPOINT_URL },
    logLevel: e.LOG_LEVEL,
    bronze: {
      namespace: e.BRONZE_NAMESPACE,
      table: e.BRONZE_TABLE,
      warehouse: e.ICEBERG_REST_URL
        ? {
            catalog: "rest",
            url: e.ICEBERG_REST_URL,
            token: e.ICEBERG_REST_TOKEN,
            warehouse: e.BRONZE_WAREHOUSE,
            s3: {
              region: e.AWS_REGION,
              endpoint: e.S3_ENDPOINT,
              forcePathStyle: e.S3_FORCE_PATH_STYLE,
              credentials:
                e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
                  ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
                  : undefined,
            },
          }
        : {
            catalog: "filesystem",
            warehouse: path.resolve(e.BRONZE_WAREHOUSE ?? path.join(e.PACKETPULSE_DATA_DIR, "warehouse")),
          },
      commitIntervalMs: e.BRONZE_COMMIT_INTERVAL_MS,
      commitRows: e.BRONZE_COMMIT_ROWS,
      writeThreads: e.BRONZE_WRITE_THREADS,
      compactionTargetBytes: e.BRONZE_COMPACTION_TARGET_MB * 1024 * 1024,
      snapshotRetentionMs: e.BRONZE_SNAPSHOT_RETENTION_HOURS * 3_600_000,
    },
    clickhouse: e.CLICKHOUSE_URL
      ? {
          backend: "server",
          url: e.CLICKHOUSE_URL,
          username: e.CLICKHOUSE_USER,
          password: e.CLICKHOUSE_PASSWORD,
          passwordParameter: e.CLICKHOUSE_PASSWORD_PARAMETER
            ? { name: e.CLICKHOUSE_PASSWORD_PARAMETER, region: e.AWS_REGION, endpoint: e.AWS_ENDPOINT_URL }
            : undefined,
          database: e.CLICKHOUSE_DATABASE,
        }
      : {
          backend: "embedded",
          path: path.join(path.resolve(e.PACKETPULSE_DATA_DIR), "clickhouse"),
          database: e.CLICKHOUSE_DATABASE,
        },
    clickhouseHttp: {
      enabled: httpEnabled,
      host: e.CLICKHOUSE_HTTP_HOST,
      port: e.CLICKHOUSE_HTTP_PORT === "off" ? 0 : e.CLICKHOUSE_HTTP_PORT,
      writer: { name: e.CLICKHOUSE_WRITER_USER, password: e.CLICKHOUSE_WRITER_PASSWORD },
      reader: {
        name: e.CLICKHOUSE_READER_USER,
        password: e.CLICKHOUSE_READER_PASSWORD,
        limits: {
          max_execution_time: e.CLICKHOUSE_READER_MAX_EXECUTION_SECONDS,
          max_rows_to_read: e.CLICKHOUSE_READER_MAX_ROWS_TO_READ,
          max_memory_usage: e.CLICKHOUSE_READER_MAX_MEMORY_MB * 1024 * 1024,
        },
      },
    },
    silverThreads: e.SILVER_THREADS,
    uranus: {
      activeAfterMinutes: e.URANUS_ACTIVE_MINUTES,
      offlineAfterMinutes: e.URANUS_OFFLINE_MINUTES,
      lookbackMinutes: e.URANUS_LOOKBACK_MINUTES,
    },
  };
}

/**
 * Refuses a production start with the development API key: devices would authenticate with a key that is
 * printed in the README. Called where the key is used (Venus), so functions that never read it start as usual.
 */
export function requireOwnApiKey(config: PacketPulseConfig): void {
  if (config.production && config.venus.apiKeyIsDefault) {
    throw new ConfigError(
      "Invalid configuration:\n  API_KEY must be set to a key of your own in production (NODE_ENV=production or on AWS Lambda); it is unset or a documented default",
    );
  }
}
