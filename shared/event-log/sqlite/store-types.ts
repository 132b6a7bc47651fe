/**
 * The rows of the embedded log as the store hands them over. Offsets are JavaScript numbers inside (exact
 * up to 2^53, centuries of appends) and strings at the interface.
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
