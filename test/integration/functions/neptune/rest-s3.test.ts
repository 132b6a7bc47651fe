import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BronzeStore,
  bronzeColumns,
  bronzePartitionSpec,
  openBronzeStore,
  processBronzeBatch,
} from "#functions/neptune/index.ts";
import type { PacketPulseConfig } from "#shared/config/index.ts";
import { openTable } from "#shared/iceberg/index.ts";
import type { SessionsRecord } from "#shared/lambda/index.ts";
import { chdbQuery, icebirdReadS3, pyicebergReadRest } from "#test/helpers/neptune-readers.ts";
import { lineRecord, restS3Config, spreadLines } from "#test/helpers/neptune-stream.ts";

/**
 * The at-scale path: the bronze table in an S3 bucket (moto's S3, from scripts/moto.sh) behind Apache
 * Iceberg's REST catalog (scripts/iceberg-rest.sh). Two Neptune writers commit to the same table at once;
 * the catalog's `assert-ref-snapshot-id` requirement makes the loser retry, and a batch both receive is
 * written once. pyiceberg (through the catalog), ClickHouse's icebergS3 and icebird read every row once.
 */

const restUrl = process.env.PACKETPULSE_TEST_ICEBERG_REST_URL;
const s3Endpoint = process.env.PACKETPULSE_TEST_S3_ENDPOINT ?? "http://127.0.0.1:5055";

describe.skipIf(!restUrl)("Neptune on S3 with an Iceberg REST catalog", () => {
  const table = `sessions_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  let config: PacketPulseConfig;
  const stores: BronzeStore[] = [];

  beforeAll(() => {
    config = restS3Config(table, restUrl!, s3Endpoint);
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
  });

  it("two writers commit concurrently; every record is in the table once", async () => {
    // Prepare: two writers on one table, and the stream as two partitions' records.
    const writers = [await openBronzeStore(config.bronze), await openBronzeStore(config.bronze)];
    stores.push(...writers);
    const lines = spreadLines();
    const offsets = [0, 0];
    const records = lines.map((line, i) => lineRecord(line, i, i % 2, offsets[i % 2]!++));
    const batches = (partition: number) => {
      const own = records.filter((r) => r.partition === partition);
      const chunks: SessionsRecord[][] = [];
      for (let i = 0; i < own.length; i += 40) chunks.push(own.slice(i, i + 40));
      return chunks;
    };

    // Act: writer 0 takes partition 0, writer 1 partition 1, at the same time; then both get one batch again.
    const deps = (store: BronzeStore) => ({ table: store.table, deadLetter: async () => {} });
    await Promise.all(
      writers.map(async (store, partition) => {
        for (const batch of batches(partition)) await processBronzeBatch(deps(store), batch);
      }),
    );
    const again = batches(0)[0]!;
    const redelivered = await Promise.all(writers.map((store) => processBronzeBatch(deps(store), again)));

    // Assess: the catalog holds every record once, read by pyiceberg through the REST catalog.
    const read = await pyicebergReadRest(restUrl!, `default.${table}`, s3Endpoint, [
      "kafka_partition",
      "kafka_offset",
      "event_time",
    ]);
    expect(read.rows).toHaveLength(lines.length);
    expect(new Set(read.rows.map((r) => `${r.kafka_partition}@${r.kafka_offset}`)).size).toBe(lines.length);
    expect(redelivered.every((r) => r.alreadyCommitted === again.length && r.rows === 0)).toBe(true);
    await writers[0]!.table.refresh();
    const location = writers[0]!.table.location;
    expect(location.startsWith("s3://packetpulse-bronze/warehouse/")).toBe(true);
    const snapshots = writers[0]!.table.metadata.snapshots!;
    expect(snapshots.length).toBe(batches(0).length + batches(1).length);

    // Assess: ClickHouse's icebergS3 reads the same rows straight from the bucket.
    const url = `${s3Endpoint}/${location.slice("s3://".length)}/`;
    const [counted] = await chdbQuery<{ n: number; ids: number }>(
      `SELECT count() AS n, uniqExact(kafka_partition, kafka_offset) AS ids FROM icebergS3('${url}', 'packetpulse', 'packetpulse-secret')`,
      process.cwd(),
    );
    expect(counted).toEqual({ n: lines.length, ids: lines.length });

    // Assess: icebird (JavaScript) reads the same rows from the bucket too.
    const metadataFile = writers[0]!.table.metadataLocation.split("/").pop()!;
    const icebird = await icebirdReadS3(location, metadataFile, s3Endpoint);
    expect(icebird).toHaveLength(lines.length);
    expect(new Set(icebird.map((r) => `${r.kafka_partition}@${r.kafka_offset}`)).size).toBe(lines.length);
  }, 240_000);

  it("a commit on a stale base is refused by the catalog (409) and retried on the new snapshot", async () => {
    // Prepare: both writers loaded the table; the second commits first.
    const [first, second] = stores.map((store) => store.table);
    await first!.refresh();
    await second!.refresh();
    const before = first!.commitStats.conflicts;
    await second!.commit((t) =>
      t.planSnapshot({ operation: "append", added: [], summary: { "test.writer": "second" } }),
    );

    // Act
    await first!.commit((t) =>
      t.planSnapshot({ operation: "append", added: [], summary: { "test.writer": "first" } }),
    );

    // Assess: the first writer's attempt on the old base was refused once, then landed after the second's.
    expect(first!.commitStats.conflicts).toBe(before + 1);
    await second!.refresh();
    const current = second!.snapshot()!;
    expect(current.summary["test.writer"]).toBe("first");
    const parent = second!.metadata.snapshots!.find(
      (s) => s["snapshot-id"] === current["parent-snapshot-id"],
    );
    expect(parent?.summary["test.writer"]).toBe("second");
  }, 120_000);

  it("the table gains a contract field as a column through the catalog; existing rows read null", async () => {
    // Act
    const evolved = await openTable(
      stores[0]!.warehouse,
      { namespace: ["default"], name: table },
      {
        columns: [...bronzeColumns(), { name: "battery_pct", type: "double", required: false }],
        partitionSpec: bronzePartitionSpec,
      },
    );

    // Assess
    expect(evolved.schema().fields.at(-1)).toMatchObject({ name: "battery_pct", required: false });
    const read = await pyicebergReadRest(restUrl!, `default.${table}`, s3Endpoint, ["battery_pct"]);
    expect(read.schema.at(-1)).toMatch(/:battery_pct:double:optional$/);
    expect(read.rows.length).toBeGreaterThan(0);
    expect(read.rows.every((r) => r.battery_pct === null)).toBe(true);
  }, 120_000);
});
