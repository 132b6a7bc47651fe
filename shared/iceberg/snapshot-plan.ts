import type {
  DataFile,
  ManifestEntry,
  ManifestFile,
  PartitionSpec,
  Schema,
  Snapshot,
  TableMetadata,
  TableRequirement,
  TableUpdate,
} from "./types.ts";
import { serializeValue } from "./values.ts";

/**
 * The pure parts of planning an Iceberg snapshot: what a commit states, the snapshot's summary, the
 * manifest-list row of a manifest. IcebergTable.planSnapshot does the reading and writing around them.
 */

/** A data file that is part of a snapshot, with the sequence numbers it carries there. */
export interface LiveDataFile {
  dataFile: DataFile;
  snapshotId: bigint;
  sequenceNumber: bigint;
  fileSequenceNumber: bigint;
}

/** One attempt at a commit, prepared on a base; `written` are files to delete if the attempt loses. */
export interface CommitPlan {
  requirements: TableRequirement[];
  updates: TableUpdate[];
  written: string[];
}

/** What a new snapshot changes: files added, files removed, and the writer's own summary fields. */
export interface SnapshotChange {
  operation: "append" | "replace";
  added: readonly DataFile[];
  removed?: readonly DataFile[];
  summary: Record<string, string>;
}

/** A snapshot being planned: its identity, and the manifests and files written for it so far. */
export interface SnapshotDraft {
  schema: Schema;
  spec: PartitionSpec;
  snapshotId: bigint;
  sequenceNumber: bigint;
  manifests: ManifestFile[];
  written: string[];
}

/** The snapshot's summary: the writer's fields, what changed, and the totals carried on from `base`. */
export function snapshotSummary(change: SnapshotChange, base: Snapshot | undefined): Snapshot["summary"] {
  const count = (files: readonly DataFile[]) => files.reduce((sum, f) => sum + f.recordCount, 0n);
  const previous = (key: string) => BigInt(base?.summary[key] ?? "0");
  const removed = change.removed ?? [];
  return {
    ...change.summary,
    operation: change.operation,
    "added-data-files": String(change.added.length),
    "added-records": String(count(change.added)),
    "deleted-data-files": String(removed.length),
    "deleted-records": String(count(removed)),
    "total-data-files": String(previous("total-data-files") + BigInt(change.added.length - removed.length)),
    "total-records": String(previous("total-records") + count(change.added) - count(removed)),
    "total-delete-files": "0",
    "total-position-deletes": "0",
    "total-equality-deletes": "0",
  };
}

/** Adds `snapshot` as the new head of main, provided main still points at `base` (optimistic commit). */
export function snapshotCommitPlan(
  metadata: TableMetadata,
  base: Snapshot | undefined,
  snapshot: Snapshot,
  written: string[],
): CommitPlan {
  return {
    requirements: [
      { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
      { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": base?.["snapshot-id"] ?? null },
    ],
    updates: [
      { action: "add-snapshot", snapshot },
      {
        action: "set-snapshot-ref",
        "ref-name": "main",
        type: "branch",
        "snapshot-id": snapshot["snapshot-id"],
      },
    ],
    written,
  };
}

export function liveFile(entry: ManifestEntry, manifest: ManifestFile): LiveDataFile {
  // ADDED entries may leave ids and sequence numbers null: they inherit the manifest's (spec: "Sequence
  // Number Inheritance").
  const sequenceNumber = entry.sequenceNumber ?? manifest.sequenceNumber;
  return {
    dataFile: entry.dataFile,
    snapshotId: entry.snapshotId ?? manifest.addedSnapshotId,
    sequenceNumber,
    fileSequenceNumber: entry.fileSequenceNumber ?? sequenceNumber,
  };
}

export function manifestFile(
  path: string,
  length: number,
  specId: number,
  entries: readonly ManifestEntry[],
  snapshotId: bigint,
  sequenceNumber: bigint,
  rewrittenFrom?: ManifestFile,
): ManifestFile {
  const of = (status: number) => entries.filter((e) => e.status === status);
  const rows = (list: ManifestEntry[]) => list.reduce((sum, e) => sum + e.dataFile.recordCount, 0n);
  const partitionNames = Object.keys(entries[0]?.dataFile.partition ?? {});
  const partitions = partitionNames.map((name) => {
    const values = entries.map((e) => e.dataFile.partition[name] ?? null);
    const present = values.filter((v): v is number => v !== null);
    return {
      containsNull: present.length < values.length,
      containsNan: false,
      lowerBound: present.length ? serializeValue("int", Math.min(...present)) : null,
      upperBound: present.length ? serializeValue("int", Math.max(...present)) : null,
    };
  });
  let minSequenceNumber = sequenceNumber;
  for (const entry of entries) {
    const n = entry.sequenceNumber ?? sequenceNumber;
    if (rewrittenFrom && n < minSequenceNumber) minSequenceNumber = n;
  }
  return {
    manifestPath: path,
    manifestLength: BigInt(length),
    partitionSpecId: specId,
    content: 0,
    sequenceNumber,
    minSequenceNumber,
    addedSnapshotId: snapshotId,
    addedFilesCount: of(1).length,
    existingFilesCount: of(0).length,
    deletedFilesCount: of(2).length,
    addedRowsCount: rows(of(1)),
    existingRowsCount: rows(of(0)),
    deletedRowsCount: rows(of(2)),
    partitions,
  };
}
