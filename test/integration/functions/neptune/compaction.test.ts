import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compactBronze, createNeptune, openBronzeStore, PARTITION_FIELD } from "#functions/neptune/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import { replayNdjson } from "#shared/runtime/replay.ts";
import { chdbQuery, pyicebergReadMetadata } from "#test/helpers/neptune-readers.ts";
import { spreadLines } from "#test/helpers/neptune-stream.ts";

/**
 * Compaction while Neptune ingests: the scheduled maintenance rewrites the small files of closed days into
 * one file per day and expires old snapshots while the event source keeps committing; no row is lost or
 * doubled, and the files no snapshot needs any more are gone from the warehouse.
 */

describe("Neptune's compaction during ingestion", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-neptune-compaction-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("reduces each closed day to one file while rows stay exactly the same", async () => {
    // Prepare: the stream on the log, Neptune with tiny batches (many small files).
    const config = loadConfig({
      PACKETPULSE_DATA_DIR: dataDir,
      PACKETPULSE_EVENT_LOG: "embedded",
      KAFKA_BOOTSTRAP_SERVERS: "",
    });
    const log = await openEventLog(config);
    const lines = spreadLines();
    await replayNdjson(log, config.topics.sessions, lines, { partitions: config.topics.partitions });
    const store = await openBronzeStore(config.bronze);
    const maintenance = await openBronzeStore(config.bronze); // a second process's view of the table
    const service = loadServerlessFile("serverless.yml");
    for (const event of (service.functions?.neptune?.events ?? []) as { msk?: Record<string, unknown> }[]) {
      if (event.msk) Object.assign(event.msk, { batchSize: 20, maximumBatchingWindow: 0 });
    }
    const neptune = createNeptune({ table: store.table, deadLetter: async () => {} });
    const runtime = await startEventSources({
      config,
      log,
      serverlessConfig: service,
      functions: ["neptune"],
      handlers: { neptune },
      statsIntervalMs: 0,
      say: () => {},
    });

    // Act: compact repeatedly while the event source commits.
    const rounds: Awaited<ReturnType<typeof compactBronze>>[] = [];
    let lag: number | null = null;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      rounds.push(
        await compactBronze(maintenance.table, {
          targetBytes: 256 * 1024 * 1024,
          snapshotRetentionMs: 0,
          retainSnapshots: 1,
        }),
      );
      lag = (await runtime.stats()).eventSources[0]!.lag;
      if (lag === 0) break;
    }
    await runtime.stop();
    await log.close();
    await store.table.refresh();
    const filesBefore = (await store.table.liveDataFiles()).length;
    const last = await compactBronze(maintenance.table, {
      targetBytes: 256 * 1024 * 1024,
      snapshotRetentionMs: 0,
      retainSnapshots: 1,
      orphanAgeMs: 0,
    });
    await maintenance.table.refresh();
    const live = await maintenance.table.liveDataFiles();

    // Assess: compaction committed while ingestion ran (replace snapshots between appends).
    expect(lag).toBe(0);
    expect(rounds.some((r) => r.days.length > 0)).toBe(true);
    expect(filesBefore).toBeGreaterThan(3);
    // Assess: one file per closed day afterwards, and nothing else in the warehouse's data folder.
    const days = new Set(live.map((f) => f.dataFile.partition[PARTITION_FIELD]));
    expect(days.size).toBe(3);
    expect(live).toHaveLength(3);
    expect(last.expiredSnapshots + rounds.reduce((s, r) => s + r.expiredSnapshots, 0)).toBeGreaterThan(0);
    const onDisk = readdirSync(path.join(maintenance.table.location, "data"), {
      recursive: true,
      withFileTypes: true,
    })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
    expect(new Set(onDisk)).toEqual(new Set(live.map((f) => f.dataFile.filePath)));
    expect(maintenance.table.metadata.snapshots).toHaveLength(1);
    expect(maintenance.table.snapshot()!.summary.operation).toBe("replace");
    // Assess: row counts unchanged, each record once, offsets carried through the replace snapshots.
    const read = await pyicebergReadMetadata(maintenance.table.metadataLocation, [
      "kafka_partition",
      "kafka_offset",
    ]);
    expect(read.rows).toHaveLength(lines.length);
    expect(new Set(read.rows.map((r) => `${r.kafka_partition}@${r.kafka_offset}`)).size).toBe(lines.length);
    const partitions = new Set(read.rows.map((r) => String(r.kafka_partition)));
    const offsets = Object.entries(maintenance.table.snapshot()!.summary).filter(([k]) =>
      k.startsWith("packetpulse.offsets."),
    );
    expect(offsets.map(([k]) => k.split("-").pop()).sort()).toEqual([...partitions].sort());
    const [counted] = await chdbQuery<{ n: string }>(
      `SELECT count() AS n FROM icebergLocal('${maintenance.table.location}')`,
      dataDir,
    );
    expect(Number(counted!.n)).toBe(lines.length);
    await store.close();
    await maintenance.close();
  }, 180_000);
});
