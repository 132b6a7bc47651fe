import { randomUUID } from "node:crypto";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import type { IcebergCatalog, LoadedTable } from "./catalog/types.ts";
import { CommitConflictError, IcebergError } from "./errors.ts";
import { readManifest, readManifestList, writeManifest, writeManifestList } from "./manifest.ts";
import { currentSchema, currentSnapshot, defaultSpec, evolvedSchema, newSnapshotId } from "./metadata.ts";
import {
  type CommitPlan,
  type LiveDataFile,
  liveFile,
  manifestFile,
  type SnapshotChange,
  type SnapshotDraft,
  snapshotCommitPlan,
  snapshotSummary,
} from "./snapshot-plan.ts";
import type { WarehouseStorage } from "./storage/types.ts";
import type {
  ColumnSpec,
  DataFile,
  ManifestEntry,
  ManifestFile,
  Schema,
  Snapshot,
  TableIdentifier,
} from "./types.ts";

export type { CommitPlan, LiveDataFile, SnapshotChange } from "./snapshot-plan.ts";

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
  async planSnapshot(options: SnapshotChange): Promise<CommitPlan> {
    const metadata = this.metadata;
    const base = this.snapshot();
    const draft: SnapshotDraft = {
      schema: this.schema(),
      spec: defaultSpec(metadata),
      snapshotId: newSnapshotId(),
      sequenceNumber: metadata["last-sequence-number"] + 1n,
      manifests: [],
      written: [],
    };
    await this.carryOverManifests(draft, base, options.removed ?? []);
    if (options.added.length > 0) await this.writeAddedManifest(draft, options.added);
    const manifestList = await this.writeSnapshotManifestList(draft, base);
    const snapshot: Snapshot = {
      "snapshot-id": draft.snapshotId,
      ...(base ? { "parent-snapshot-id": base["snapshot-id"] } : {}),
      "sequence-number": draft.sequenceNumber,
      "timestamp-ms": Date.now(),
      "manifest-list": manifestList,
      summary: snapshotSummary(options, base),
      "schema-id": draft.schema["schema-id"],
    };
    return snapshotCommitPlan(metadata, base, snapshot, draft.written);
  }

  /**
   * The base snapshot's manifests go into the new one as they are, except those listing a file to remove:
   * those are rewritten, kept files becoming EXISTING (sequence numbers made explicit), removed ones
   * DELETED. Every file to remove must still be in the table, or another writer got there first.
   */
  private async carryOverManifests(
    draft: SnapshotDraft,
    base: Snapshot | undefined,
    toRemove: readonly DataFile[],
  ): Promise<void> {
    const { manifests, snapshotId } = draft;
    const removedPaths = new Set(toRemove.map((f) => f.filePath));
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
      manifests.push(await this.writeDraftManifest(draft, rewritten, manifest));
    }
    if (removedFound !== removedPaths.size) {
      throw new CommitConflictError(`${this.name}: files to replace are no longer in the table`);
    }
  }

  /** The added files, in a manifest of their own listed first. */
  private async writeAddedManifest(draft: SnapshotDraft, added: readonly DataFile[]): Promise<void> {
    const entries: ManifestEntry[] = added.map((dataFile) => ({
      status: 1,
      snapshotId: draft.snapshotId,
      sequenceNumber: null,
      fileSequenceNumber: null,
      dataFile,
    }));
    draft.manifests.unshift(await this.writeDraftManifest(draft, entries));
  }

  /** Writes one manifest of the new snapshot; `rewrittenFrom` is the base manifest it replaces. */
  private async writeDraftManifest(
    draft: SnapshotDraft,
    entries: ManifestEntry[],
    rewrittenFrom?: ManifestFile,
  ): Promise<ManifestFile> {
    const path = this.metadataPath(`${randomUUID()}-m${draft.manifests.length}.avro`);
    const bytes = writeManifest(entries, draft.spec, draft.schema);
    await this.storage.write(path, bytes);
    draft.written.push(path);
    return manifestFile(
      path,
      bytes.length,
      draft.spec["spec-id"],
      entries,
      draft.snapshotId,
      draft.sequenceNumber,
      rewrittenFrom,
    );
  }

  /** Writes the new snapshot's manifest list; returns its path. */
  private async writeSnapshotManifestList(draft: SnapshotDraft, base: Snapshot | undefined): Promise<string> {
    const listPath = this.metadataPath(`snap-${draft.snapshotId}-1-${randomUUID()}.avro`);
    await this.storage.write(
      listPath,
      writeManifestList(draft.manifests, {
        id: draft.snapshotId,
        parentId: base?.["snapshot-id"] ?? null,
        sequenceNumber: draft.sequenceNumber,
      }),
    );
    draft.written.push(listPath);
    return listPath;
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
