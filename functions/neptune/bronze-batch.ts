import {
  currentSnapshot,
  type DataFile,
  IcebergError,
  type IcebergTable,
  type TableMetadata,
} from "#shared/iceberg/index.ts";
import type { DeadLetter, DeadLetterSink } from "#shared/lambda/dead-letter.ts";
import { partitionKey, type SessionsRecord } from "#shared/lambda/sessions-record.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { BronzeEncoder } from "./bronze-encoder.ts";

/**
 * Snapshot summary property holding the last offset of a topic-partition that is in the table:
 * `packetpulse.offsets.sessions-0 = 41`. Every Neptune snapshot carries the whole map forward (and so does
 * compaction), so the newest such snapshot says what is in the table.
 */
export const OFFSET_PROPERTY_PREFIX = "packetpulse.offsets.";

/**
 * Last committed offset per "topic-partition": from the newest snapshot of the current branch whose summary
 * has offset properties. Neptune and its compaction carry the whole map forward in every snapshot they
 * commit; walking back through the ancestry covers snapshots other engines commit (Trino's `optimize`,
 * a Spark job), which do not know these properties.
 */
export function committedOffsets(metadata: TableMetadata): Map<string, number> {
  const byId = new Map((metadata.snapshots ?? []).map((s) => [s["snapshot-id"], s]));
  for (let snapshot = currentSnapshot(metadata); snapshot; ) {
    const entries = Object.entries(snapshot.summary).filter(([key]) =>
      key.startsWith(OFFSET_PROPERTY_PREFIX),
    );
    if (entries.length > 0) {
      return new Map(
        entries.map(([key, value]) => [key.slice(OFFSET_PROPERTY_PREFIX.length), Number(value)]),
      );
    }
    const parent = snapshot["parent-snapshot-id"];
    snapshot = parent === undefined ? undefined : byId.get(parent);
  }
  return new Map();
}

/** The offset properties of the next snapshot: the table's, raised to the last offsets of `records`. */
export function offsetProperties(metadata: TableMetadata, records: readonly SessionsRecord[] = []) {
  const offsets = committedOffsets(metadata);
  for (const record of records) {
    const key = partitionKey(record);
    offsets.set(key, Math.max(offsets.get(key) ?? -1, record.offset));
  }
  return Object.fromEntries(
    [...offsets].map(([key, offset]) => [`${OFFSET_PROPERTY_PREFIX}${key}`, String(offset)]),
  );
}

/** Spaces commits of small batches: at most one commit per interval per process and table. */
export class CommitPacer {
  private last = 0;
  constructor(
    private readonly intervalMs: number,
    private readonly rowsThreshold: number,
  ) {}

  async wait(rows: number): Promise<void> {
    if (rows >= this.rowsThreshold) return;
    const wait = this.last + this.intervalMs - Date.now();
    if (wait > 0) await sleep(wait);
  }

  committed(): void {
    this.last = Date.now();
  }
}

export interface BronzeBatchDeps {
  table: IcebergTable;
  deadLetter: DeadLetterSink;
  pacer?: CommitPacer;
  /** Encodes records into data files (default: on this thread only). */
  encoder?: BronzeEncoder;
  /** Called after the data files are written and before the commit (fault tests stop the process there). */
  beforeCommit?: (files: readonly DataFile[]) => Promise<void>;
}

export interface BronzeBatchResult {
  records: number;
  /** Records at or below the table's committed offsets: delivered again, not written again. */
  alreadyCommitted: number;
  rows: number;
  deadLettered: number;
  files: number;
  snapshotId?: bigint;
}

const inlineEncoder = new BronzeEncoder(1);

/** Attempts before a batch whose offsets keep being committed by another writer is handed back. */
const OVERLAP_ATTEMPTS = 3;

/**
 * Writes one batch of `sessions` records into the bronze table: records the table already holds (offset
 * at or below the committed offset of their partition) are skipped, records that cannot be typed go to
 * the dead letter sink, the rest become one Parquet file per event day (and encoding thread) and one
 * append commit that also records the batch's last offsets. A crash anywhere before the commit leaves only unreferenced files; the
 * re-delivered batch is written again, and a crash after it is skipped, so each record is in the table once.
 */
export async function processBronzeBatch(
  deps: BronzeBatchDeps,
  records: readonly SessionsRecord[],
): Promise<BronzeBatchResult> {
  const { table } = deps;
  for (let attempt = 1; attempt <= OVERLAP_ATTEMPTS; attempt++) {
    await table.refresh();
    const committed = committedOffsets(table.metadata);
    const fresh = records.filter((r) => r.offset > (committed.get(partitionKey(r)) ?? -1));
    const result: BronzeBatchResult = {
      records: records.length,
      alreadyCommitted: records.length - fresh.length,
      rows: 0,
      deadLettered: 0,
      files: 0,
    };
    if (fresh.length === 0) return result;

    const encoder = deps.encoder ?? inlineEncoder;
    const encoded = await encoder.encode(fresh, table.schema(), table.location, Date.now());
    const rejected: DeadLetter[] = encoded.rejected.map((r) => ({
      record: fresh[r.index]!,
      schemaVersion: r.schemaVersion,
      issues: r.issues,
    }));
    await deps.pacer?.wait(encoded.rows);
    // Before the commit: once the offsets are in the table, a re-delivery would skip these records.
    if (rejected.length > 0) await deps.deadLetter(rejected);
    const files: DataFile[] = [];
    for (const { bytes, dataFile } of encoded.files) {
      await table.storage.write(dataFile.filePath, bytes);
      files.push(dataFile);
    }
    await deps.beforeCommit?.(files);

    const firstOffsets = new Map<string, number>();
    for (const record of fresh) {
      const key = partitionKey(record);
      firstOffsets.set(key, Math.min(firstOffsets.get(key) ?? Number.POSITIVE_INFINITY, record.offset));
    }
    const done = await table.commit(async (current) => {
      const now = committedOffsets(current.metadata);
      // Another writer committed some of these offsets meanwhile: these files would duplicate rows.
      for (const [key, first] of firstOffsets) if ((now.get(key) ?? -1) >= first) return undefined;
      return current.planSnapshot({
        operation: "append",
        added: files,
        summary: { ...offsetProperties(current.metadata, fresh), "packetpulse.writer": "neptune" },
      });
    });
    if (done) {
      deps.pacer?.committed();
      return {
        ...result,
        rows: encoded.rows,
        deadLettered: rejected.length,
        files: files.length,
        snapshotId: table.snapshot()?.["snapshot-id"],
      };
    }
    await Promise.all(files.map((file) => table.storage.delete(file.filePath).catch(() => {})));
  }
  throw new IcebergError(
    `${table.name}: another writer kept committing this batch's offsets; the batch is handed back for a retry`,
  );
}
