import type Database from "better-sqlite3";
import type { LeaseRow, StoredRecord } from "./store-types.ts";

/** Topics and their partitions, created once and never changed. */
function prepareTopicStatements(db: Database.Database) {
  return {
    topicByName: db.prepare<[string], { topic_id: number; name: string; partitions: number }>(
      "SELECT topic_id, name, partitions FROM topics WHERE name = ?",
    ),
    insertTopic: db.prepare<[string, number, number]>(
      "INSERT OR IGNORE INTO topics (name, partitions, created_at) VALUES (?, ?, ?)",
    ),
    insertPartition: db.prepare<[number, number]>(
      "INSERT OR IGNORE INTO partitions (topic_id, partition) VALUES (?, ?)",
    ),
  };
}

/** Each partition's low watermark (first retained offset) and next offset. */
function preparePartitionStatements(db: Database.Database) {
  return {
    nextOffset: db
      .prepare<[number, number], number>(
        "SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?",
      )
      .pluck(),
    setNextOffset: db.prepare<[number, number, number]>(
      "UPDATE partitions SET next_offset = ? WHERE topic_id = ? AND partition = ?",
    ),
    partitionOffsets: db.prepare<[number], { partition: number; low: number; high: number }>(
      `SELECT partition, low_offset AS low, next_offset AS high FROM partitions
       WHERE topic_id = ? ORDER BY partition`,
    ),
    allPartitions: db.prepare<[], { topic_id: number; partition: number; low: number; high: number }>(
      "SELECT topic_id, partition, low_offset AS low, next_offset AS high FROM partitions",
    ),
    lowOffset: db
      .prepare<[number, number], number>(
        "SELECT low_offset FROM partitions WHERE topic_id = ? AND partition = ?",
      )
      .pluck(),
    setLowOffset: db.prepare<[number, number, number]>(
      "UPDATE partitions SET low_offset = ? WHERE topic_id = ? AND partition = ?",
    ),
  };
}

/** Appending records and reading them back in offset order. */
function prepareRecordStatements(db: Database.Database) {
  return {
    insertRecord: db.prepare<[number, number, number, number, number, Buffer, Buffer, string | null]>(
      `INSERT INTO records (topic_id, partition, record_offset, timestamp, appended_at, key, value, headers)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
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
  };
}

/** Consumer groups: committed offsets and the members' partition leases. */
function prepareGroupStatements(db: Database.Database) {
  return {
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
  };
}

/** Retention: finding and deleting expired records at the front of a partition. */
function prepareRetentionStatements(db: Database.Database) {
  return {
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
  };
}

/** The health check: a marker row written and read back. */
function prepareHealthStatements(db: Database.Database) {
  return {
    topicCount: db.prepare<[], number>("SELECT COUNT(*) FROM topics").pluck(),
    healthWrite: db.prepare<[string]>(
      `INSERT INTO meta (key, value) VALUES ('health_checked_at', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ),
    healthRead: db.prepare<[], string>("SELECT value FROM meta WHERE key = 'health_checked_at'").pluck(),
  };
}

export type LogStatements = ReturnType<typeof prepareStatements>;

/** Every statement the embedded log runs, prepared once per connection, in groups by what they touch. */
export function prepareStatements(db: Database.Database) {
  return {
    ...prepareTopicStatements(db),
    ...preparePartitionStatements(db),
    ...prepareRecordStatements(db),
    ...prepareGroupStatements(db),
    ...prepareRetentionStatements(db),
    ...prepareHealthStatements(db),
  };
}
