import { gunzipSync } from "node:zlib";
import { parquetReadObjects } from "hyparquet";
import {
  type CellValue,
  type ColumnBatch,
  dataFileName,
  encodeDataFile,
  type IcebergTable,
  type LiveDataFile,
  nativeUnsnappy,
} from "#shared/iceberg/index.ts";
import { offsetProperties } from "./bronze-batch.ts";
import { dayOf, PARTITION_FIELD, partitionPath } from "./bronze-schema.ts";

export interface CompactionOptions {
  /** Target size of a rewritten file; small files of a closed day are packed up to it. */
  targetBytes: number;
  /** Days before this one (days since 1970-01-01) are closed: ingestion no longer adds to them. */
  today?: number;
  /** Snapshots older than this are expired (the newest `retainSnapshots` are always kept). */
  snapshotRetentionMs: number;
  retainSnapshots?: number;
  /** Unreferenced data files older than this are deleted (leftovers of writers that died before committing). */
  orphanAgeMs?: number;
  say?: (line: string) => void;
}

export interface CompactionResult {
  /** Days rewritten, with their file counts before and after. */
  days: { day: string; filesBefore: number; filesAfter: number; rows: number }[];
  expiredSnapshots: number;
  deletedFiles: number;
  orphansDeleted: number;
}

/** Files of one day packed into groups of at most `targetBytes` (a group of one is left alone). */
export function planBins(files: readonly LiveDataFile[], targetBytes: number): LiveDataFile[][] {
  const sorted = [...files].sort((a, b) => Number(a.dataFile.fileSizeInBytes - b.dataFile.fileSizeInBytes));
  const bins: LiveDataFile[][] = [];
  let current: LiveDataFile[] = [];
  let size = 0;
  for (const file of sorted) {
    const bytes = Number(file.dataFile.fileSizeInBytes);
    if (current.length > 0 && size + bytes > targetBytes) {
      bins.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += bytes;
  }
  if (current.length > 0) bins.push(current);
  return bins.filter((bin) => bin.length > 1);
}

/** Reads data files back as columns of the table's current schema (columns a file lacks are null). */
async function readColumns(table: IcebergTable, files: readonly LiveDataFile[]) {
  const schema = table.schema();
  const columns: ColumnBatch = new Map(schema.fields.map((f) => [f.id, [] as CellValue[]]));
  let rowCount = 0;
  for (const file of files) {
    const bytes = await table.storage.read(file.dataFile.filePath);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const rows = (await parquetReadObjects({
      file: buffer,
      compressors: {
        GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
        ...(nativeUnsnappy ? { SNAPPY: nativeUnsnappy } : {}),
      },
      // Timestamps stay microseconds (bigint), exactly as written.
      parsers: { timestampFromMicroseconds: (micros: bigint) => micros },
    })) as Record<string, CellValue | undefined>[];
    for (const field of schema.fields) {
      const values = columns.get(field.id)!;
      for (const row of rows) values.push(row[field.name] ?? null);
    }
    rowCount += rows.length;
  }
  return { schema, columns, rowCount };
}

/**
 * Bronze maintenance, safe while Neptune ingests: rewrites the small files of each closed day into files
 * of about `targetBytes` (one `replace` snapshot per group, committed optimistically on the latest
 * snapshot and carrying its offsets forward), expires old snapshots and deletes the files only they used,
 * and deletes data files no snapshot ever committed once they are older than `orphanAgeMs`.
 */
export async function compactBronze(
  table: IcebergTable,
  options: CompactionOptions,
): Promise<CompactionResult> {
  const say = options.say ?? (() => {});
  const today = options.today ?? dayOf(Date.now());
  await table.refresh();
  const byDay = new Map<number, LiveDataFile[]>();
  for (const file of await table.liveDataFiles()) {
    const day = file.dataFile.partition[PARTITION_FIELD];
    if (typeof day !== "number" || day >= today) continue;
    byDay.set(day, [...(byDay.get(day) ?? []), file]);
  }
  const result: CompactionResult = { days: [], expiredSnapshots: 0, deletedFiles: 0, orphansDeleted: 0 };
  for (const [day, files] of [...byDay].sort(([a], [b]) => a - b)) {
    const bins = planBins(files, options.targetBytes);
    if (bins.length === 0) continue;
    let filesAfter = files.length;
    let rows = 0;
    for (const bin of bins) {
      const { schema, columns, rowCount } = await readColumns(table, bin);
      const { bytes, dataFile } = encodeDataFile({
        schema,
        columns,
        rowCount,
        partition: { [PARTITION_FIELD]: day },
        location: table.dataPath(partitionPath(day), dataFileName()),
        // Compacted files live long: the smaller codec (ingestion writes SNAPPY for speed).
        codec: "GZIP",
      });
      await table.storage.write(dataFile.filePath, bytes);
      const removedPaths = new Set(bin.map((f) => f.dataFile.filePath));
      const committed = await table.commit(async (current) => {
        const live = new Set((await current.liveDataFiles()).map((f) => f.dataFile.filePath));
        // Another compaction rewrote some of these files first: this rewrite is dropped.
        for (const path of removedPaths) if (!live.has(path)) return undefined;
        return current.planSnapshot({
          operation: "replace",
          added: [dataFile],
          removed: bin.map((f) => f.dataFile),
          summary: { ...offsetProperties(current.metadata), "packetpulse.writer": "neptune-compaction" },
        });
      });
      if (!committed) {
        await table.storage.delete(dataFile.filePath);
        continue;
      }
      filesAfter -= bin.length - 1;
      rows += rowCount;
    }
    const label = partitionPath(day).slice(PARTITION_FIELD.length + 1);
    say(`compacted ${label}: ${files.length} → ${filesAfter} files (${rows} rows rewritten)`);
    result.days.push({ day: label, filesBefore: files.length, filesAfter, rows });
  }
  const expiry = await table.expireSnapshots({
    olderThanMs: Date.now() - options.snapshotRetentionMs,
    retainLast: options.retainSnapshots ?? 1,
  });
  result.expiredSnapshots = expiry.expiredSnapshots;
  result.deletedFiles = expiry.deletedFiles;
  if (expiry.expiredSnapshots > 0) {
    say(`expired ${expiry.expiredSnapshots} snapshots, deleted ${expiry.deletedFiles} unreferenced files`);
  }
  if (options.orphanAgeMs !== undefined) {
    result.orphansDeleted = await deleteOrphanDataFiles(table, options.orphanAgeMs);
    if (result.orphansDeleted > 0) say(`deleted ${result.orphansDeleted} data files no commit referenced`);
  }
  return result;
}

/**
 * Data files no snapshot references, written more than `olderThanMs` ago (their names start with the
 * write time): what a writer killed between writing and committing leaves behind.
 */
async function deleteOrphanDataFiles(table: IcebergTable, olderThanMs: number): Promise<number> {
  await table.refresh();
  const referenced = new Set<string>();
  for (const snapshot of table.metadata.snapshots ?? []) {
    for (const file of await table.referencedFiles(snapshot)) referenced.add(file);
  }
  const cutoff = Date.now() - olderThanMs;
  const orphans = (await table.storage.list(`${table.location}/data`)).filter((file) => {
    if (referenced.has(file) || !file.endsWith(".parquet")) return false;
    const writtenAt = Number(/[/\\](\d{13})-[^/\\]+\.parquet$/.exec(file)?.[1] ?? Number.NaN);
    return Number.isFinite(writtenAt) && writtenAt <= cutoff;
  });
  await Promise.all(orphans.map((file) => table.storage.delete(file)));
  return orphans.length;
}
