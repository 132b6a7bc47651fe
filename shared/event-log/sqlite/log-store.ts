import type Database from "better-sqlite3";
import { EventLogError } from "#shared/errors.ts";
import { GroupLeases } from "./leases.ts";
import { parseSlab, storedRecord } from "./record-slab.ts";
import { sweepStep } from "./retention.ts";
import { type LogStatements, prepareStatements } from "./statements.ts";
import type {
  AppendRequest,
  PartitionOffsets,
  PartitionRef,
  RecordMaker,
  StoredRecord,
  TopicMeta,
} from "./store-types.ts";

export type {
  AppendRequest,
  EncodedRecord,
  LeaseIsFree,
  LeaseOwner,
  LeaseRow,
  PartitionOffsets,
  PartitionRef,
  RecordMaker,
  StoredRecord,
  TopicMeta,
} from "./store-types.ts";

/**
 * Synchronous data access for the embedded log: every statement it runs, every transaction boundary.
 * Topics and records live here; consumer-group leases and offsets in leases.ts (`store.leases`),
 * retention in retention.ts, the statements themselves in statements.ts.
 */

export class LogStore {
  private readonly topicsByName = new Map<string, TopicMeta>();
  private readonly statements: LogStatements;
  /** Consumer groups: partition leases and committed offsets. */
  readonly leases: GroupLeases;

  constructor(private readonly db: Database.Database) {
    this.statements = prepareStatements(db);
    this.leases = new GroupLeases(db, this.statements);
  }

  /** Topic metadata never changes once created (no deletes, no repartitioning), so it is cached for good. */
  topic(name: string): TopicMeta | undefined {
    const cached = this.topicsByName.get(name);
    if (cached !== undefined) return cached;
    const row = this.statements.topicByName.get(name);
    if (row === undefined) return undefined;
    const meta = { topicId: row.topic_id, name: row.name, partitions: row.partitions };
    this.topicsByName.set(name, meta);
    return meta;
  }

  requireTopic(name: string): TopicMeta {
    const meta = this.topic(name);
    if (meta === undefined) {
      throw new EventLogError(`Topic "${name}" does not exist; create it with ensureTopics() first`);
    }
    return meta;
  }

  /** Creates the topic unless it exists (possibly created meanwhile by another process) and returns it. */
  createTopic(name: string, partitions: number, now: number): TopicMeta {
    this.db
      .transaction(() => {
        this.statements.insertTopic.run(name, partitions, now);
        const row = this.statements.topicByName.get(name)!;
        for (let partition = 0; partition < row.partitions; partition++) {
          this.statements.insertPartition.run(row.topic_id, partition);
        }
      })
      .immediate();
    return this.topic(name)!;
  }

  /** Writes every request in one transaction; returns each request's offsets, in its record order. */
  append(requests: AppendRequest[], appendedAt: number): number[][] {
    const { nextOffset, setNextOffset, insertRecord } = this.statements;
    return this.db
      .transaction(() => {
        // Next offsets are read inside the write transaction: another process may have appended meanwhile.
        const nextByTopic = new Map<number, number[]>();
        const offsetsPerRequest = requests.map(({ topic, records }) => {
          let next = nextByTopic.get(topic.topicId);
          if (next === undefined) {
            next = [];
            nextByTopic.set(topic.topicId, next);
          }
          const offsets = new Array<number>(records.length);
          for (let i = 0; i < records.length; i++) {
            const record = records[i]!;
            const offset = next[record.partition] ?? nextOffset.get(topic.topicId, record.partition)!;
            insertRecord.run(
              topic.topicId,
              record.partition,
              offset,
              record.timestamp,
              appendedAt,
              record.key,
              record.value,
              record.headers,
            );
            next[record.partition] = offset + 1;
            offsets[i] = offset;
          }
          return offsets;
        });
        for (const [topicId, next] of nextByTopic) {
          next.forEach((offset, partition) => {
            setNextOffset.run(offset, topicId, partition);
          });
        }
        return offsetsPerRequest;
      })
      .immediate();
  }

  partitionOffsets(topicId: number): PartitionOffsets[] {
    return this.statements.partitionOffsets.all(topicId);
  }

  /**
   * Up to `limit` records of a partition from `fromOffset`, in offset order, each made by `make` (by default
   * a {@link StoredRecord}). SQLite concatenates the rows into one byte string (`<offset> <timestamp> <key
   * length> <value length> <headers length> ` and the bytes, -1 for NULL; one `concat()` per record, which
   * copies its bytes once where a chain of `||` copied them at every step), so JavaScript receives one Buffer
   * instead of a row object and two Buffers per record: keys and values are views into it. That halves the
   * cost of a read (docs/benchmarks.md); a caller that keeps one record's value keeps its slice's bytes
   * alive. The concatenation follows the subquery's order, which SQLite does not promise for aggregates:
   * the offsets are checked, and sorted if ever they come otherwise. Slices too big for one SQLite string
   * (records near SQLite's 1 GB limit) are read row by row.
   */
  fetch(ref: PartitionRef, fromOffset: number, limit: number): StoredRecord[];
  fetch<T>(
    ref: PartitionRef,
    fromOffset: number,
    limit: number,
    make: RecordMaker<T>,
    offsetOf: (record: T) => number,
  ): T[];
  fetch<T>(
    ref: PartitionRef,
    fromOffset: number,
    limit: number,
    make: RecordMaker<T> = storedRecord as unknown as RecordMaker<T>,
    offsetOf: (record: T) => number = (record) => (record as unknown as StoredRecord).record_offset,
  ): T[] {
    let slab: Buffer | null;
    try {
      slab = this.statements.fetchSlab.get(ref.topicId, ref.partition, fromOffset, limit) ?? null;
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_TOOBIG") throw error;
      return this.statements.fetch
        .all(ref.topicId, ref.partition, fromOffset, limit)
        .map((row) =>
          make(
            row.record_offset,
            row.timestamp,
            row.key,
            row.value,
            row.headers === null ? null : Buffer.from(row.headers, "utf8"),
          ),
        );
    }
    return slab === null ? [] : parseSlab(slab, make, offsetOf);
  }

  /** See {@link sweepStep}. */
  sweepStep(cutoff: number, maxRecords: number): { deleted: number; more: boolean } {
    return sweepStep(this.db, this.statements, cutoff, maxRecords);
  }

  /** Writes and reads back a marker row: proves the file is writable and readable right now. */
  checkHealth(now: number): { topics: number } {
    const marker = String(now);
    this.statements.healthWrite.run(marker);
    if (this.statements.healthRead.get() !== marker) {
      throw new EventLogError("The event log file did not return the health marker it was just given");
    }
    return { topics: this.statements.topicCount.get()! };
  }
}
