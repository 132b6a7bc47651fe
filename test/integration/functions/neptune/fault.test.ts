import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compactBronze, openBronzeStore } from "#functions/neptune/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { replayNdjson } from "#shared/runtime/replay.ts";
import { pyicebergReadMetadata } from "#test/helpers/neptune-readers.ts";
import { spreadLines } from "#test/helpers/neptune-stream.ts";
import { type Spawned, spawnProcess } from "#test/helpers/processes.ts";

/**
 * Neptune under crashes, on the embedded default: the process is SIGKILLed once after writing a batch's
 * data files but before the table commit, and once after the table commit but before the event log
 * committed the offsets (the batch is delivered again). The table must still hold every record exactly
 * once, and maintenance removes what the first crash left behind.
 */

const CHILD = path.resolve(import.meta.dirname, "../../../helpers/neptune-runtime.ts");

function dataFilesOnDisk(tableLocation: string): string[] {
  const dataDir = path.join(tableLocation, "data");
  return readdirSync(dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".parquet"))
    .map((e) => path.join(e.parentPath, e.name));
}

describe("Neptune after crashes on the embedded default", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-neptune-fault-"));
  const children: Spawned[] = [];

  afterAll(async () => {
    for (const child of children) await child.stop("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("killed between writing files and committing, then after committing, and restarted: no duplicates, no gaps", async () => {
    // Prepare: the stream on the sessions topic.
    const env = {
      PACKETPULSE_DATA_DIR: dataDir,
      PACKETPULSE_EVENT_LOG: "embedded",
      KAFKA_BOOTSTRAP_SERVERS: "",
      NEPTUNE_BATCH_SIZE: "50",
    };
    const config = loadConfig(env);
    const lines = spreadLines();
    const setupLog = await openEventLog(config);
    await replayNdjson(setupLog, config.topics.sessions, lines, { partitions: config.topics.partitions });
    await setupLog.close();
    const tableState = async () => {
      const store = await openBronzeStore(config.bronze);
      try {
        const rows = await pyicebergReadMetadata(store.table.metadataLocation, [
          "kafka_partition",
          "kafka_offset",
        ]);
        return { store, rows: rows.rows.map((r) => `${r.kafka_partition}@${r.kafka_offset}`) };
      } finally {
        await store.close();
      }
    };

    // Act 1: killed after invocation 4 wrote its files, before its commit.
    const first = spawnProcess("node", ["--import", "tsx", CHILD], {
      ...env,
      NEPTUNE_HOLD: "before-commit",
      NEPTUNE_HOLD_AFTER: "3",
    });
    children.push(first);
    await first.waitFor(/^held \d+$/m, 60_000);
    await first.stop("SIGKILL");
    const afterFirst = await tableState();

    // Act 2: killed after invocation 3 committed to the table, before the log committed its offsets.
    const second = spawnProcess("node", ["--import", "tsx", CHILD], {
      ...env,
      NEPTUNE_HOLD: "after-commit",
      NEPTUNE_HOLD_AFTER: "2",
    });
    children.push(second);
    await second.waitFor(/^held \d+$/m, 60_000);
    await second.stop("SIGKILL");
    const afterSecond = await tableState();

    // Act 3: restarted without holds until there is no lag.
    const third = spawnProcess("node", ["--import", "tsx", CHILD], env);
    children.push(third);
    await third.waitFor(/^stats .*"lag":0,/m, 60_000);
    expect(await third.stop("SIGTERM")).toBe(0);
    const final = await tableState();

    // Assess: each crash landed mid-stream.
    expect(afterFirst.rows.length).toBeGreaterThan(0);
    expect(afterFirst.rows.length).toBeLessThan(lines.length);
    expect(afterSecond.rows.length).toBeGreaterThan(afterFirst.rows.length);
    expect(afterSecond.rows.length).toBeLessThan(lines.length);
    // Assess: every record exactly once, offsets without gaps per partition.
    expect(final.rows).toHaveLength(lines.length);
    expect(new Set(final.rows).size).toBe(lines.length);
    for (let partition = 0; partition < config.topics.partitions; partition++) {
      const offsets = final.rows
        .filter((r) => r.startsWith(`${partition}@`))
        .map((r) => Number(r.split("@")[1]))
        .sort((a, b) => a - b);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }

    // Assess: the first crash left data files no commit references; maintenance deletes them.
    const store = await openBronzeStore(config.bronze);
    try {
      const live = new Set((await store.table.liveDataFiles()).map((f) => f.dataFile.filePath));
      const orphans = dataFilesOnDisk(store.table.location).filter((f) => !live.has(f));
      expect(orphans.length).toBeGreaterThan(0);
      const result = await compactBronze(store.table, {
        targetBytes: 64 * 1024 * 1024,
        snapshotRetentionMs: 0,
        retainSnapshots: 1,
        orphanAgeMs: 0,
      });
      expect(result.orphansDeleted).toBeGreaterThanOrEqual(orphans.length);
      const liveAfter = new Set((await store.table.liveDataFiles()).map((f) => f.dataFile.filePath));
      expect(new Set(dataFilesOnDisk(store.table.location))).toEqual(liveAfter);
      const read = await pyicebergReadMetadata(store.table.metadataLocation, [
        "kafka_partition",
        "kafka_offset",
      ]);
      expect(new Set(read.rows.map((r) => `${r.kafka_partition}@${r.kafka_offset}`))).toEqual(
        new Set(final.rows),
      );
    } finally {
      await store.close();
    }
  }, 240_000);
});
