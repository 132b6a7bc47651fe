import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import type { SessionsRecord } from "#shared/lambda/index.ts";
import { sessionsRecordForLine } from "#shared/runtime/replay.ts";

/**
 * A stream for bronze tests: the v2 and v1 fixtures, with event times spread over three consecutive days
 * (line i moves by i mod 3 days) so batches span partitions, plus records bronze must reject.
 */

const FIXTURES = path.resolve(import.meta.dirname, "../../events/fixtures");
const DAY_MS = 86_400_000;

function shift(text: string | undefined, days: number): string | undefined {
  return text === undefined ? undefined : new Date(Date.parse(text) + days * DAY_MS).toISOString();
}

export function spreadLines(): string[] {
  const lines = ["athens-seed42-v2.ndjson", "athens-seed42-v1.ndjson"].flatMap((name) =>
    readFileSync(path.join(FIXTURES, name), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== ""),
  );
  return lines.map((line, i) => {
    const event = JSON.parse(line) as Record<string, string | undefined>;
    const days = i % 3;
    for (const key of ["occurred_at", "promised_at", "timestamp"]) {
      if (event[key] !== undefined) event[key] = shift(event[key], days);
    }
    return JSON.stringify(event);
  });
}

/** Event id of a stream line: v2 carries it; v1 lines get theirs from the record header. */
export const lineEventTime = (line: string) => {
  const event = JSON.parse(line) as { occurred_at?: string; timestamp?: string };
  return Date.parse(event.occurred_at ?? event.timestamp!);
};

/** Line `i` of a stream as the `sessions` record Venus would have appended at `partition`/`offset`. */
export function lineRecord(line: string, i: number, partition: number, offset: number): SessionsRecord {
  const input = sessionsRecordForLine(line, i + 1);
  return {
    topic: "sessions",
    partition,
    offset,
    timestamp: input.timestamp!,
    key: Buffer.from(input.key ?? ""),
    value: Buffer.from(input.value as string),
    headers: Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

/** The at-scale path of the tests: `table` in moto's S3 behind the REST catalog (.ci/run starts both). */
export function restS3Config(table: string, restUrl: string, s3Endpoint: string): PacketPulseConfig {
  return loadConfig({
    PACKETPULSE_EVENT_LOG: "embedded",
    KAFKA_BOOTSTRAP_SERVERS: "",
    ICEBERG_REST_URL: restUrl,
    BRONZE_WAREHOUSE: "s3://packetpulse-bronze/warehouse",
    BRONZE_TABLE: table,
    S3_ENDPOINT: s3Endpoint,
    S3_FORCE_PATH_STYLE: "true",
    S3_ACCESS_KEY_ID: "packetpulse",
    S3_SECRET_ACCESS_KEY: "packetpulse-secret",
  });
}
