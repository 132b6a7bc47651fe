import type Database from "better-sqlite3";
import { EventLogError } from "#shared/errors.ts";

/**
 * Synchronous data access for the embedded log: every statement it runs, every transaction boundary.
 * Offsets are JavaScript numbers inside (exact up to 2^53, centuries of appends) and strings at the interface.
 */

export interface TopicMeta {
  topicId: number;
  name: string;
  partitions: number;
}

/** A record already encoded for storage; built outside the write transaction. */
export interface EncodedRecord {
  partition: number;
  timestamp: number;
  key: Buffer;
  value: Buffer;
  headers: string | null;
}

export interface AppendRequest {
  topic: TopicMeta;
  records: EncodedRecord[];
}

export interface StoredRecord {
  record_offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: string | null;
}

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

export interface LeaseOwner {
  groupId: string;
  memberId: string;
  instance: string;
  pid: number;
  host: string;
}

export interface LeaseRow {
  topic_id: number;
  partition: number;
  member_id: string;
  owner_instance: string;
  owner_pid: number;
  owner_host: string;
  heartbeat_at: number;
}

export interface PartitionRef {
  topicId: number;
  partition: number;
}

/** Decides whether another member's lease may be taken over (its owner is gone or silent too long). */
export type LeaseIsFree = (lease: LeaseRow) => boolean;

/** Makes a caller's record from a stored one's fields (see {@link LogStore.fetch}). */
export type RecordMaker<T> = (
  offset: number,
  timestamp: number,
  key: Buffer | null,
  value: Buffer | null,
  /** The stored headers' JSON bytes (see headers.ts). */
  headers: Buffer | null,
) => T;

const storedRecord: RecordMaker<StoredRecord> = (record_offset, timestamp, key, value, headers) => ({
  record_offset,
  timestamp,
  key,
  value,
  headers: headers === null ? null : headers.toString("utf8"),
});

/** The records of {@link LogStore.fetch}'s byte string, in its order. */
function parseSlab<T>(slab: Buffer, make: RecordMaker<T>, offsetOf: (record: T) => number): T[] {
  const records: T[] = [];
  let at = 0;
  // A decimal integer followed by one space (SQLite wrote it; -1 stands for NULL).
  const integer = (): number => {
    const negative = slab[at] === 45;
    if (negative) at++;
    let value = 0;
    for (let byte = slab[at]!; byte !== 32; byte = slab[++at]!) value = value * 10 + (byte - 48);
    at++;
    return negative ? -value : value;
  };
  let ordered = true;
  let previous = Number.NEGATIVE_INFINITY;
  while (at < slab.length) {
    const offset = integer();
    const timestamp = integer();
    const keyLength = integer();
    const valueLength = integer();
    const headersLength = integer();
    const keyEnd = at + Math.max(keyLength, 0);
    const valueEnd = keyEnd + Math.max(valueLength, 0);
    const headersEnd = valueEnd + Math.max(headersLength, 0);
    records.push(
      make(
        offset,
        timestamp,
        keyLength < 0 ? null : slab.subarray(at, keyEnd),
        valueLength < 0 ? null : slab.subarray(keyEnd, valueEnd),
        headersLength < 0 ? null : slab.subarray(valueEnd, headersEnd),
      ),
    );
    ordered &&= offset > previous;
    previous = offset;
    at = headersEnd;
  }
  // SQLite concatenates in the order its subquery yields the rows; it does not promise to (see fetch()).
  if (!ordered) records.sort((a, b) => offsetOf(a) - offsetOf(b));
  return records;
}

export class LogStore {
  private readonly topicsByName = new Map<string, TopicMeta>();
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      topicByName: db.prepare<[string], { topic_id: number; name: string; partitions: number }>(
        "SELECT topic_id, name, partitions FROM topics WHERE name = ?",
      ),
      insertTopic: db.prepare<[string, number, number]>(
        "INSERT OR IGNORE INTO topics (name, partitions, created_at) VALUES (?, ?, ?)",
      ),
      insertPartition: db.prepare<[number, number]>(
        "INSERT OR IGNORE INTO partitions (topic_id, partition) VALUES (?, ?)",
      ),
      nextOffset: db
        .prepare<[number, number], number>(
          "SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?",
        )
        .pluck(),
      setNextOffset: db.prepare<[number, number, number]>(
        "UPDATE partitions SET next_offset = ? WHERE topic_id = ? AND partition = ?",
      ),
      insertRecord: db.prepare<[number, number, number, number, number, Buffer, Buffer, string | null]>(
        `INSERT INTO records (topic_id, partition, record_offset, timestamp, appended_at, key, value, headers)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      partitionOffsets: db.prepare<[number], { partition: number; low: number; high: number }>(
        `SELECT partition, low_offset AS low, next_offset AS high FROM partitions
         WHERE topic_id = ? ORDER BY partition`,
      ),
      allPartitions: db.prepare<[], { topic_id: number; partition: number; low: number; high: number }>(
        "SELECT topic_id, partition, low_offset AS low, next_offset AS high FROM partitions",
      ),
      committed: db.prepare<[string, number], { partition: number; committed_offset: number }>(
        "SELECT partition, committed_offset FROM group_offsets WHERE group_id = ? AND topic_id = ?",
      ),
      committedOne: db
        .prepare<[string, number, number], number>(
          "SELECT committed_offset FROM group_offsets WHERE group_id = ? AND topic_id = ? AND partition = ?",
        )
        .pluck(),
      upsertCommitted: db.prepare<[string, number, number, number, number]>(
        `INSERT INTO group_offsets (group_id, topic_id, partition, committed_offset, committed_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (group_id, topic_id, partition)
         DO UPDATE SET committed_offset = excluded.committed_offset, committed_at = excluded.committed_at`,
      ),
      fetch: db.prepare<[number, number, number, number], StoredRecord>(
        `SELECT record_offset, timestamp, key, value, headers FROM records
         WHERE topic_id = ? AND partition = ? AND record_offset >= ?
         ORDER BY record_offset LIMIT ?`,
      ),
      // The same rows as one byte string, built inside SQLite (see fetch()).
      fetchSlab: db
        .prepare<[number, number, number, number], Buffer | null>(
          `SELECT CAST(group_concat(
             concat(record_offset, ' ', timestamp, ' ', coalesce(octet_length(key), -1), ' ',
               coalesce(octet_length(value), -1), ' ', coalesce(octet_length(headers), -1), ' ', key, value, headers),
             '') AS BLOB)
           FROM (SELECT record_offset, timestamp, key, value, headers FROM records
                 WHERE topic_id = ? AND partition = ? AND record_offset >= ?
                 ORDER BY record_offset LIMIT ?)`,
        )
        .pluck(),
      lease: db.prepare<[string, number, number], LeaseRow>(
        `SELECT topic_id, partition, member_id, owner_instance, owner_pid, owner_host, heartbeat_at
         FROM group_leases WHERE group_id = ? AND topic_id = ? AND partition = ?`,
      ),
      upsertLease: db.prepare<[string, number, number, string, string, number, string, number]>(
        `INSERT INTO group_leases
           (group_id, topic_id, partition, member_id, owner_instance, owner_pid, owner_host, heartbeat_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (group_id, topic_id, partition) DO UPDATE SET
           member_id = excluded.member_id, owner_instance = excluded.owner_instance,
           owner_pid = excluded.owner_pid, owner_host = excluded.owner_host, heartbeat_at = excluded.heartbeat_at`,
      ),
      releaseLeases: db.prepare<[string, string]>(
        "DELETE FROM group_leases WHERE group_id = ? AND member_id = ?",
      ),
      firstRetained: db
        .prepare<[number, number, number, number, number], number>(
          `SELECT record_offset FROM records
           WHERE topic_id = ? AND partition = ? AND record_offset >= ? AND record_offset < ? AND appended_at >= ?
           ORDER BY record_offset LIMIT 1`,
        )
        .pluck(),
      deleteRange: db.prepare<[number, number, number, number]>(
        "DELETE FROM records WHERE topic_id = ? AND partition = ? AND record_offset >= ? AND record_offset < ?",
      ),
      setLowOffset: db.prepare<[number, number, number]>(
        "UPDATE partitions SET low_offset = ? WHERE topic_id = ? AND partition = ?",
      ),
      lowOffset: db
        .prepare<[number, number], number>(
          "SELECT low_offset FROM partitions WHERE topic_id = ? AND partition = ?",
        )
        .pluck(),
      topicCount: db.prepare<[], number>("SELECT COUNT(*) FROM topics").pluck(),
      healthWrite: db.prepare<[string]>(
        `INSERT INTO meta (key, value) VALUES ('health_checked_at', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ),
      healthRead: db.prepare<[], string>("SELECT value FROM meta WHERE key = 'health_checked_at'").pluck(),
    };
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

  committedOffsets(groupId: string, topicId: number): Map<number, number> {
    const rows = this.statements.committed.all(groupId, topicId);
    return new Map(rows.map((row) => [row.partition, row.committed_offset]));
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

  /**
   * Takes or renews the lease of each wanted partition that is free, already ours, or held by a member that
   * `leaseIsFree` declares gone. Returns the partitions this member now owns, with the offset to resume from
   * for those it did not own before (`startAt` picks it when the group has no committed offset).
   */
  claimLeases(
    owner: LeaseOwner,
    wanted: PartitionRef[],
    alreadyOwned: (ref: PartitionRef) => boolean,
    leaseIsFree: LeaseIsFree,
    startAt: (ref: PartitionRef) => "earliest" | "latest",
    now: number,
  ): { ref: PartitionRef; resumeAt: number | null }[] {
    const s = this.statements;
    return this.db
      .transaction(() => {
        const owned: { ref: PartitionRef; resumeAt: number | null }[] = [];
        for (const ref of wanted) {
          const lease = s.lease.get(owner.groupId, ref.topicId, ref.partition);
          if (lease !== undefined && lease.member_id !== owner.memberId && !leaseIsFree(lease)) continue;
          s.upsertLease.run(
            owner.groupId,
            ref.topicId,
            ref.partition,
            owner.memberId,
            owner.instance,
            owner.pid,
            owner.host,
            now,
          );
          const keepPosition = lease?.member_id === owner.memberId && alreadyOwned(ref);
          if (keepPosition) {
            owned.push({ ref, resumeAt: null });
            continue;
          }
          const committed = s.committedOne.get(owner.groupId, ref.topicId, ref.partition);
          const low = s.lowOffset.get(ref.topicId, ref.partition)!;
          let resumeAt: number;
          if (committed !== undefined) {
            // A committed offset that retention overtook resumes at the first retained record.
            resumeAt = Math.max(committed, low);
          } else if (startAt(ref) === "earliest") {
            resumeAt = low;
          } else {
            resumeAt = s.nextOffset.get(ref.topicId, ref.partition)!;
          }
          owned.push({ ref, resumeAt });
        }
        return owned;
      })
      .immediate();
  }

  /** Commits `offset` (the next record to read) for the group if this member still holds the lease. */
  commit(owner: LeaseOwner, ref: PartitionRef, offset: number, now: number): boolean {
    const s = this.statements;
    return this.db
      .transaction(() => {
        const lease = s.lease.get(owner.groupId, ref.topicId, ref.partition);
        if (lease?.member_id !== owner.memberId) return false;
        s.upsertCommitted.run(owner.groupId, ref.topicId, ref.partition, offset, now);
        return true;
      })
      .immediate();
  }

  releaseLeases(groupId: string, memberId: string): void {
    this.statements.releaseLeases.run(groupId, memberId);
  }

  /**
   * Deletes at most `maxRecords` expired records (appended before `cutoff`) from the front
   * of the partitions and advances their low watermarks. `more` says another step may find more to delete.
   */
  sweepStep(cutoff: number, maxRecords: number): { deleted: number; more: boolean } {
    const s = this.statements;
    return this.db
      .transaction(() => {
        let deleted = 0;
        for (const p of s.allPartitions.all()) {
          if (p.low >= p.high) continue;
          const windowEnd = Math.min(p.high, p.low + (maxRecords - deleted));
          const firstRetained = s.firstRetained.get(p.topic_id, p.partition, p.low, windowEnd, cutoff);
          const newLow = firstRetained ?? windowEnd;
          if (newLow === p.low) continue;
          deleted += s.deleteRange.run(p.topic_id, p.partition, p.low, newLow).changes;
          s.setLowOffset.run(newLow, p.topic_id, p.partition);
          if (deleted >= maxRecords) return { deleted, more: true };
        }
        return { deleted, more: false };
      })
      .immediate();
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
