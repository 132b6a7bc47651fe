import { randomUUID } from "node:crypto";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import type { IcebergCatalog, LoadedTable } from "./catalog/types.ts";
import { CommitConflictError, IcebergError } from "./errors.ts";
import { readManifest, readManifestList, writeManifest, writeManifestList } from "./manifest.ts";
import { currentSchema, currentSnapshot, defaultSpec, evolvedSchema, newSnapshotId } from "./metadata.ts";
import type { WarehouseStorage } from "./storage/types.ts";
import type {
  ColumnSpec,
  DataFile,
  ManifestEntry,
  ManifestFile,
  Schema,
  Snapshot,
  TableIdentifier,
  TableRequirement,
  TableUpdate,
} from "./types.ts";
import { serializeValue } from "./values.ts";

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

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 12, initialDelayMs: 20 };

/** Conflicting commits back off from `initialDelayMs`, doubled up to this, spread ±50 %. */
const MAX_RETRY_DELAY_MS = 2_000;

/**
 * One Iceberg table: its current metadata from the catalog, and the operations the bronze layer needs
 * (schema evolution, append, replace, snapshot expiry), each an optimistic commit that states its base
 * snapshot and is retried on a fresh base when another writer committed first.
 */
export class IcebergTable {
  /** Commits this instance made, and attempts refused because another writer had committed first. */
  readonly commitStats = { commits: 0, conflicts: 0 };

  constructor(
    readonly catalog: IcebergCatalog,
    readonly storage: WarehouseStorage,
    readonly id: TableIdentifier,
    private loaded: LoadedTable,
  ) {}

  get metadata() {
    return this.loaded.metadata;
  }

  get metadataLocation() {
    return this.loaded.metadataLocation;
  }

  get location() {
    return this.loaded.metadata.location.replace(/\/+$/, "");
  }

  get name() {
    return [...this.id.namespace, this.id.name].join(".");
  }

  schema(): Schema {
    return currentSchema(this.metadata);
  }

  snapshot(): Snapshot | undefined {
    return currentSnapshot(this.metadata);
  }

  async refresh(): Promise<void> {
    const loaded = await this.catalog.loadTable(this.id);
    if (!loaded) throw new IcebergError(`table ${this.name} disappeared from the catalog`);
    this.loaded = loaded;
  }

  /**
   * Runs `prepare` on the current metadata and commits its plan; on a conflict, deletes what the attempt
   * wrote, reloads and tries again with growing, jittered pauses. `prepare` returns undefined to give up.
   */
  async commit(prepare: (table: IcebergTable) => Promise<CommitPlan | undefined>, retry = DEFAULT_RETRY) {
    const backoff = {
      initialMs: retry.initialDelayMs,
      maxMs: MAX_RETRY_DELAY_MS,
      jitter: "centred",
    } as const;
    for (let attempt = 1; ; attempt++) {
      const plan = await prepare(this);
      if (!plan) return false;
      try {
        this.loaded = await this.catalog.commit(this.id, plan.requirements, plan.updates);
        this.commitStats.commits++;
        return true;
      } catch (error) {
        if (!(error instanceof CommitConflictError)) throw error;
        this.commitStats.conflicts++;
        await Promise.all(plan.written.map((file) => this.storage.delete(file).catch(() => {})));
        if (attempt >= retry.attempts) {
          throw new CommitConflictError(`${this.name}: gave up after ${attempt} conflicting commits`, {
            cause: error,
          });
        }
        await sleep(backoffDelay(attempt, backoff));
        await this.refresh();
      }
    }
  }

  /** Adds the columns of `columns` the table lacks (as optional columns); true when the schema changed. */
  async addMissingColumns(columns: readonly ColumnSpec[]): Promise<boolean> {
    return this.commit(async (table) => {
      const metadata = table.metadata;
      const nextId = Math.max(...metadata.schemas.map((s) => s["schema-id"])) + 1;
      const schema = evolvedSchema(table.schema(), metadata["last-column-id"], nextId, columns);
      if (!schema) return undefined;
      return {
        requirements: [
          { type: "assert-current-schema-id", "current-schema-id": metadata["current-schema-id"] },
          { type: "assert-last-assigned-field-id", "last-assigned-field-id": metadata["last-column-id"] },
        ],
        updates: [
          { action: "add-schema", schema, "last-column-id": Math.max(...schema.fields.map((f) => f.id)) },
          { action: "set-current-schema", "schema-id": -1 },
        ],
        written: [],
      };
    });
  }

  async readManifestList(snapshot: Snapshot): Promise<ManifestFile[]> {
    return readManifestList(await this.storage.read(snapshot["manifest-list"]), snapshot["manifest-list"]);
  }

  async readManifest(path: string): Promise<ManifestEntry[]> {
    return readManifest(await this.storage.read(path), path);
  }

  /** The data files a snapshot reads (default: the current one). */
  async liveDataFiles(snapshot = this.snapshot()): Promise<LiveDataFile[]> {
    if (!snapshot) return [];
    const files: LiveDataFile[] = [];
    for (const manifest of await this.readManifestList(snapshot)) {
      if (manifest.content !== 0) continue;
      for (const entry of await this.readManifest(manifest.manifestPath)) {
        if (entry.status === 2) continue;
        files.push(liveFile(entry, manifest));
      }
    }
    return files;
  }

  /** A new snapshot on the current one: `added` files in a new manifest, `removed` files marked deleted. */
  async planSnapshot(options: {
    operation: "append" | "replace";
    added: readonly DataFile[];
    removed?: readonly DataFile[];
    summary: Record<string, string>;
  }): Promise<CommitPlan> {
    const metadata = this.metadata;
    const base = this.snapshot();
    const schema = this.schema();
    const spec = defaultSpec(metadata);
    const snapshotId = newSnapshotId();
    const sequenceNumber = metadata["last-sequence-number"] + 1n;
    const written: string[] = [];
    const manifests: ManifestFile[] = [];
    const removedPaths = new Set((options.removed ?? []).map((f) => f.filePath));
    const baseManifests = base ? await this.readManifestList(base) : [];
    let removedFound = 0;
    for (const manifest of baseManifests) {
      if (removedPaths.size === 0 || manifest.content !== 0) {
        manifests.push(manifest);
        continue;
      }
      const entries = await this.readManifest(manifest.manifestPath);
      const hits = entries.filter((e) => e.status !== 2 && removedPaths.has(e.dataFile.filePath));
      if (hits.length === 0) {
        manifests.push(manifest);
        continue;
      }
      removedFound += hits.length;
      // Rewritten: kept files become EXISTING (sequence numbers made explicit), removed ones DELETED.
      const rewritten: ManifestEntry[] = [];
      for (const entry of entries) {
        if (entry.status === 2) continue;
        const live = liveFile(entry, manifest);
        const removed = removedPaths.has(entry.dataFile.filePath);
        rewritten.push({
          status: removed ? 2 : 0,
          snapshotId: removed ? snapshotId : live.snapshotId,
          sequenceNumber: live.sequenceNumber,
          fileSequenceNumber: live.fileSequenceNumber,
          dataFile: entry.dataFile,
        });
      }
      const path = this.metadataPath(`${randomUUID()}-m${manifests.length}.avro`);
      const bytes = writeManifest(rewritten, spec, schema);
      await this.storage.write(path, bytes);
      written.push(path);
      manifests.push(
        manifestFile(path, bytes.length, spec["spec-id"], rewritten, snapshotId, sequenceNumber, manifest),
      );
    }
    if (removedFound !== removedPaths.size) {
      throw new CommitConflictError(`${this.name}: files to replace are no longer in the table`);
    }
    if (options.added.length > 0) {
      const entries: ManifestEntry[] = options.added.map((dataFile) => ({
        status: 1,
        snapshotId,
        sequenceNumber: null,
        fileSequenceNumber: null,
        dataFile,
      }));
      const path = this.metadataPath(`${randomUUID()}-m${manifests.length}.avro`);
      const bytes = writeManifest(entries, spec, schema);
      await this.storage.write(path, bytes);
      written.push(path);
      manifests.unshift(
        manifestFile(path, bytes.length, spec["spec-id"], entries, snapshotId, sequenceNumber),
      );
    }
    const listPath = this.metadataPath(`snap-${snapshotId}-1-${randomUUID()}.avro`);
    await this.storage.write(
      listPath,
      writeManifestList(manifests, {
        id: snapshotId,
        parentId: base?.["snapshot-id"] ?? null,
        sequenceNumber,
      }),
    );
    written.push(listPath);
    const count = (files: readonly DataFile[]) => files.reduce((sum, f) => sum + f.recordCount, 0n);
    const previous = (key: string) => BigInt(base?.summary[key] ?? "0");
    const removed = options.removed ?? [];
    const summary: Snapshot["summary"] = {
      ...options.summary,
      operation: options.operation,
      "added-data-files": String(options.added.length),
      "added-records": String(count(options.added)),
      "deleted-data-files": String(removed.length),
      "deleted-records": String(count(removed)),
      "total-data-files": String(
        previous("total-data-files") + BigInt(options.added.length - removed.length),
      ),
      "total-records": String(previous("total-records") + count(options.added) - count(removed)),
      "total-delete-files": "0",
      "total-position-deletes": "0",
      "total-equality-deletes": "0",
    };
    const snapshot: Snapshot = {
      "snapshot-id": snapshotId,
      ...(base ? { "parent-snapshot-id": base["snapshot-id"] } : {}),
      "sequence-number": sequenceNumber,
      "timestamp-ms": Date.now(),
      "manifest-list": listPath,
      summary,
      "schema-id": schema["schema-id"],
    };
    return {
      requirements: [
        { type: "assert-table-uuid", uuid: metadata["table-uuid"] },
        { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": base?.["snapshot-id"] ?? null },
      ],
      updates: [
        { action: "add-snapshot", snapshot },
        { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId },
      ],
      written,
    };
  }

  /** Where a new data file of a partition goes. */
  dataPath(partitionPath: string, fileName: string): string {
    return `${this.location}/data/${partitionPath}/${fileName}`;
  }

  private metadataPath(fileName: string): string {
    return `${this.location}/metadata/${fileName}`;
  }

  /** Every file a snapshot needs: its manifest list, manifests and the data files it reads. */
  async referencedFiles(snapshot: Snapshot): Promise<Set<string>> {
    const files = new Set<string>([snapshot["manifest-list"]]);
    for (const manifest of await this.readManifestList(snapshot)) {
      files.add(manifest.manifestPath);
      for (const entry of await this.readManifest(manifest.manifestPath)) {
        // A DELETED entry only records the removal; the snapshot no longer reads that file.
        if (entry.status !== 2) files.add(entry.dataFile.filePath);
      }
    }
    return files;
  }

  /**
   * Removes snapshots older than `olderThanMs` beyond the newest `retainLast`, then deletes the files only
   * they referenced. The current snapshot is always kept, so a concurrent writer (whose next snapshot
   * can only reference files of the current one, or new files) never loses a file it needs.
   */
  async expireSnapshots(options: { olderThanMs: number; retainLast: number }) {
    await this.refresh();
    const snapshots = [...(this.metadata.snapshots ?? [])].sort(
      (a, b) => b["timestamp-ms"] - a["timestamp-ms"],
    );
    const current = this.snapshot()?.["snapshot-id"];
    const expired = snapshots.filter(
      (s, index) =>
        index >= options.retainLast &&
        s["timestamp-ms"] < options.olderThanMs &&
        s["snapshot-id"] !== current,
    );
    if (expired.length === 0) return { expiredSnapshots: 0, deletedFiles: 0 };
    const expiredIds = new Set(expired.map((s) => s["snapshot-id"]));
    const kept = snapshots.filter((s) => !expiredIds.has(s["snapshot-id"]));
    await this.commit(async () => ({
      requirements: [],
      updates: [{ action: "remove-snapshots", "snapshot-ids": [...expiredIds] }],
      written: [],
    }));
    const stillUsed = new Set<string>();
    for (const snapshot of kept) for (const file of await this.referencedFiles(snapshot)) stillUsed.add(file);
    const candidates = new Set<string>();
    for (const snapshot of expired) {
      for (const file of await this.referencedFiles(snapshot).catch(() => new Set<string>())) {
        if (!stillUsed.has(file)) candidates.add(file);
      }
    }
    await Promise.all([...candidates].map((file) => this.storage.delete(file)));
    return { expiredSnapshots: expired.length, deletedFiles: candidates.size };
  }
}

function liveFile(entry: ManifestEntry, manifest: ManifestFile): LiveDataFile {
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

function manifestFile(
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
