import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  BronzeEncoder,
  compactBronze,
  openBronzeStore,
  PARTITION_FIELD,
  processBronzeBatch,
} from "#functions/neptune/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import type { SessionsRecord } from "#shared/lambda/index.ts";

/**
 * `npm run bench:bronze`: the bronze layer on the embedded default (Neptune's batch code → Parquet files
 * → file-system catalog commits), then its compaction.
 *
 * (a) rows/s: N v2 events (location pings of 500 devices over 3 past days, session starts and status
 *     changes mixed in) as `sessions` records in batches of 10,000 (Neptune's batchSize), each batch
 *     validated, written as one file per event day and committed with its offsets.
 * (b) commit latency: from a batch's files being written to its commit being visible (p50, p95).
 * (c) files per day before and after compaction, and the size of the compacted files.
 *
 * Options: --rows=N (default 300000), --batch=N (default 10000).
 * Targets (2 cores): at least 50,000 rows/s; after compaction files of at least 32 MB, or one per day.
 */

const { values } = parseArgs({
  options: { rows: { type: "string", default: "300000" }, batch: { type: "string", default: "10000" } },
});
const totalRows = Number(values.rows);
const batchSize = Number(values.batch);
const DAY_MS = 86_400_000;

function records(): SessionsRecord[] {
  const devices = Array.from({ length: 500 }, () => ({
    device: randomUUID(),
    vehicle: randomUUID(),
    session: randomUUID(),
    order: randomUUID(),
  }));
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
  const list: SessionsRecord[] = [];
  for (let i = 0; i < totalRows; i++) {
    const d = devices[i % devices.length]!;
    const at = start + Math.floor((i / totalRows) * 3 * DAY_MS);
    const base = {
      event_id: randomUUID(),
      schema_version: 2,
      occurred_at: new Date(at).toISOString(),
      device_id: d.device,
      vehicle_id: d.vehicle,
      session_id: d.session,
      order_id: d.order,
    };
    const kind = i % 50;
    const event =
      kind === 0
        ? {
            ...base,
            event_type: "session_started",
            pickup_lat: 37.98,
            pickup_lon: 23.72,
            dropoff_lat: 37.99,
            dropoff_lon: 23.75,
            vehicle_type: "scooter",
            promised_at: new Date(at + 1_800_000).toISOString(),
          }
        : kind === 1
          ? { ...base, event_type: "status_changed", status: "en_route" }
          : {
              ...base,
              event_type: "location_ping",
              lat: 37.9 + (i % 1000) / 10_000,
              lon: 23.7 + (i % 777) / 10_000,
              speed_kmh: (i % 60) + 0.5,
              heading_deg: i % 360,
              accuracy_m: 5 + (i % 20),
            };
    list.push({
      topic: "sessions",
      partition: 0,
      offset: i,
      timestamp: at + 150,
      key: Buffer.from(d.device),
      value: Buffer.from(JSON.stringify(event)),
      headers: { event_id: Buffer.from(base.event_id), schema_version: Buffer.from("2") },
    });
  }
  return list;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-bench-bronze-"));
  try {
    const config = loadConfig({
      PACKETPULSE_DATA_DIR: dataDir,
      PACKETPULSE_EVENT_LOG: "embedded",
      KAFKA_BOOTSTRAP_SERVERS: "",
      BRONZE_WRITE_THREADS: process.env.BRONZE_WRITE_THREADS,
    });
    const store = await openBronzeStore(config.bronze);
    console.log(`generating ${totalRows} records…`);
    const all = records();
    const loadBefore = os.loadavg()[0]!;
    const encoder = new BronzeEncoder(config.bronze.writeThreads);
    await encoder.preload();
    console.log(`encoding on ${encoder.threads} thread(s)`);
    const commitMs: number[] = [];
    let filesWrittenAt = 0;
    const started = performance.now();
    for (let i = 0; i < all.length; i += batchSize) {
      const result = await processBronzeBatch(
        {
          table: store.table,
          deadLetter: async () => {},
          encoder,
          beforeCommit: async () => {
            filesWrittenAt = performance.now();
          },
        },
        all.slice(i, i + batchSize),
      );
      commitMs.push(performance.now() - filesWrittenAt);
      if (result.rows !== Math.min(batchSize, all.length - i))
        throw new Error(`batch at ${i} wrote ${result.rows} rows`);
      process.stdout.write(`\r  ${Math.min(i + batchSize, all.length)} / ${all.length} rows`);
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write("\n");
    const rowsPerSecond = totalRows / seconds;
    const filesPerDay = async () => {
      const counts = new Map<number, { files: number; bytes: number }>();
      for (const f of await store.table.liveDataFiles()) {
        const day = f.dataFile.partition[PARTITION_FIELD] as number;
        const c = counts.get(day) ?? { files: 0, bytes: 0 };
        c.files++;
        c.bytes += Number(f.dataFile.fileSizeInBytes);
        counts.set(day, c);
      }
      return counts;
    };
    const before = await filesPerDay();
    console.log("compacting…");
    const compactStarted = performance.now();
    await compactBronze(store.table, {
      targetBytes: config.bronze.compactionTargetBytes,
      snapshotRetentionMs: 0,
      retainSnapshots: 1,
      say: (line) => console.log(`  ${line}`),
    });
    const compactSeconds = (performance.now() - compactStarted) / 1000;
    const after = await filesPerDay();
    const sizes = (await store.table.liveDataFiles()).map((f) => Number(f.dataFile.fileSizeInBytes));
    const sorted = [...commitMs].sort((a, b) => a - b);
    const compactedOk =
      [...after.values()].every((c) => c.files === 1) || Math.min(...sizes) >= 32 * 1024 * 1024;

    const rows: string[][] = [
      [
        "rows/s into the table",
        `${totalRows} rows, batches of ${batchSize}`,
        `${Math.round(rowsPerSecond)} rows/s`,
        "≥ 50,000 rows/s",
        rowsPerSecond >= 50_000 ? "✅ meets target" : "❌ below target",
      ],
      [
        "commit latency",
        `${commitMs.length} commits`,
        `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p95 ${percentile(sorted, 0.95).toFixed(1)} ms`,
        "—",
        "—",
      ],
      [
        "files per day before compaction",
        `${before.size} days`,
        [...before.values()].map((c) => `${c.files} (${mb(c.bytes)})`).join(", "),
        "—",
        "—",
      ],
      [
        "files per day after compaction",
        `${compactSeconds.toFixed(1)} s`,
        [...after.values()].map((c) => `${c.files} (${mb(c.bytes)})`).join(", "),
        "≥ 32 MB each, or 1 per day",
        compactedOk ? "✅ meets target" : "❌ misses target",
      ],
    ];
    const header = ["step", "load", "measured", "target", "result"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    console.log(`\nBronze benchmark (Neptune → Iceberg, embedded), ${new Date().toISOString()}`);
    console.log(
      `${os.availableParallelism()} cores, ${encoder.threads} encoding thread(s), load average ${loadBefore.toFixed(2)} before / ${os.loadavg()[0]!.toFixed(2)} after (this run included; more than the cores means other work competed)`,
    );
    console.log(line(header));
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    for (const row of rows) console.log(line(row));
    await encoder.close();
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
