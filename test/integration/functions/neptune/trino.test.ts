import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BronzeStore, openBronzeStore, processBronzeBatch } from "#functions/neptune/index.ts";
import { V1_EVENT_TYPE } from "#shared/events/index.ts";
import { lineEventTime, lineRecord, restS3Config, spreadLines } from "#test/helpers/neptune-stream.ts";
import { trinoQuery, trinoTimestampMs } from "#test/helpers/trino.ts";

/**
 * Trino (scripts/trino.sh, the engine of docker-compose.yml) reads the bronze table Neptune writes on the
 * at-scale path: S3 (moto) behind Apache Iceberg's REST catalog. Checked the way a user sees it in SQL:
 * row and per-type counts, event_time as a timestamp with time zone, a day's WHERE reading only that
 * day's partition, and the table's commits in `$snapshots`.
 */

const trinoUrl = process.env.PACKETPULSE_TEST_TRINO_URL;
const restUrl = process.env.PACKETPULSE_TEST_ICEBERG_REST_URL ?? "http://127.0.0.1:8181";
const s3Endpoint = process.env.PACKETPULSE_TEST_S3_ENDPOINT ?? "http://127.0.0.1:5055";
const DAY_MS = 86_400_000;

describe.skipIf(!trinoUrl)("Trino reads Neptune's bronze table (S3 + Iceberg REST catalog)", () => {
  const table = `sessions_trino_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const qualified = `iceberg."default"."${table}"`;
  const lines = spreadLines();
  const query = (sql: string) => trinoQuery(trinoUrl!, sql);
  let store: BronzeStore;
  let batches = 0;

  beforeAll(async () => {
    const config = restS3Config(table, restUrl, s3Endpoint);
    store = await openBronzeStore(config.bronze);
    const records = lines.map((line, i) => lineRecord(line, i, 0, i));
    // Batches of 100 records: several commits, each spanning the stream's three days.
    for (let i = 0; i < records.length; i += 100) {
      await processBronzeBatch({ table: store.table, deadLetter: async () => {} }, records.slice(i, i + 100));
      batches++;
    }
  }, 120_000);

  afterAll(async () => {
    await store?.close();
  });

  it("every row, and each event type's rows, once", async () => {
    // Act
    const total = await query(
      `SELECT count(*) AS n, count(DISTINCT kafka_offset) AS offsets FROM ${qualified}`,
    );
    const byType = await query(`SELECT event_type, count(*) AS n FROM ${qualified} GROUP BY event_type`);

    // Assess
    expect(total.rows).toEqual([{ n: lines.length, offsets: lines.length }]);
    const expected: Record<string, number> = {};
    for (const line of lines) {
      const type = (JSON.parse(line) as { event_type?: string }).event_type ?? V1_EVENT_TYPE;
      expected[type] = (expected[type] ?? 0) + 1;
    }
    expect(Object.keys(expected).length).toBeGreaterThan(2);
    expect(Object.fromEntries(byType.rows.map((r) => [r.event_type, r.n]))).toEqual(expected);
  }, 120_000);

  it("event_time is a timestamp with time zone holding the events' times", async () => {
    // Act
    const result = await query(
      `SELECT min(event_time) AS first, max(event_time) AS last, typeof(min(event_time)) AS type FROM ${qualified}`,
    );

    // Assess
    const times = lines.map(lineEventTime);
    const [row] = result.rows;
    expect(row!.type).toBe("timestamp(6) with time zone");
    expect(trinoTimestampMs(row!.first)).toBe(Math.min(...times));
    expect(trinoTimestampMs(row!.last)).toBe(Math.max(...times));
  }, 120_000);

  it("a WHERE on one day returns that day's rows and reads only that day's partition", async () => {
    // Prepare: the middle of the stream's three days.
    const days = [...new Set(lines.map((l) => Math.floor(lineEventTime(l) / DAY_MS)))].sort((a, b) => a - b);
    expect(days.length).toBeGreaterThanOrEqual(3);
    const day = days[1]!;
    const iso = new Date(day * DAY_MS).toISOString().slice(0, 10);
    const next = new Date((day + 1) * DAY_MS).toISOString().slice(0, 10);
    const expected = lines.filter((l) => Math.floor(lineEventTime(l) / DAY_MS) === day).length;

    // Act: the day as a user writes it (the session is in UTC), and as a range of instants.
    const wheres = [
      `CAST(event_time AS date) = DATE '${iso}'`,
      `event_time >= TIMESTAMP '${iso} 00:00:00 UTC' AND event_time < TIMESTAMP '${next} 00:00:00 UTC'`,
    ];
    for (const where of wheres) {
      const result = await query(
        `SELECT count(*) AS n, min(event_time) AS first, max(event_time) AS last FROM ${qualified} WHERE ${where}`,
      );

      // Assess: the rows of that day, and the connector read no others (files of other days pruned).
      expect(result.rows[0]!.n, where).toBe(expected);
      expect(Math.floor(trinoTimestampMs(result.rows[0]!.first) / DAY_MS)).toBe(day);
      expect(Math.floor(trinoTimestampMs(result.rows[0]!.last) / DAY_MS)).toBe(day);
      expect(result.stats.processedRows, where).toBe(expected);
    }
    expect(expected).toBeLessThan(lines.length);
  }, 120_000);

  it("$snapshots lists the table's commits", async () => {
    // Act
    const result = await query(
      // Ids as text: a 64-bit id does not survive JSON numbers.
      `SELECT CAST(snapshot_id AS varchar) AS snapshot_id, CAST(parent_id AS varchar) AS parent_id, operation FROM iceberg."default"."${table}$snapshots" ORDER BY committed_at`,
    );

    // Assess: one append per batch, the same snapshots the writer's metadata holds, chained by parent.
    await store.table.refresh();
    const written = store.table.metadata.snapshots!.map((s) => String(s["snapshot-id"]));
    expect(result.rows).toHaveLength(batches);
    expect(result.rows.map((r) => String(r.snapshot_id))).toEqual(written);
    expect(result.rows.every((r) => r.operation === "append")).toBe(true);
    for (let i = 1; i < result.rows.length; i++) {
      expect(result.rows[i]!.parent_id).toBe(result.rows[i - 1]!.snapshot_id);
    }
  }, 120_000);
});
