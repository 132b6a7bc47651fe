/**
 * The durable event log: one interface, two backends (embedded SQLite file, Apache Kafka).
 * Code above this interface never asks which backend it has.
 */

/** A record to append. `key` picks the partition with Kafka's default (murmur2) partitioner. */
export interface LogRecordInput {
  key: string;
  value: string | Buffer;
  /** Header values are strings on the way in; consumers receive them as Buffers (as kafkajs does). */
  headers?: Record<string, string>;
  /** Milliseconds since the epoch; defaults to the append time (CreateTime). */
  timestamp?: number;
}

/** Where an appended record landed. Offsets are decimal strings, as in kafkajs (they can exceed 2^53). */
export interface AppendedRecord {
  topic: string;
  partition: number;
  offset: string;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** The batch reached `maxBatchSize` or `maxBatchBytes`: waiting for more records would not add any. */
  full?: boolean;
  /** The batch's size by the consumer's `recordBytes`, when it bounds batches by `maxBatchBytes`. */
  bytes?: number;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts: the earliest retained record, or only new ones. */
  fromBeginning: boolean;
  /** Upper bound on records handed to one `eachBatch` call. */
  maxBatchSize?: number;
  /**
   * Upper bound on a batch's size, in bytes as `recordBytes` counts them (default: key, value and header
   * bytes). A batch holds at least one record; the records past the bound come in the next batch, as on
   * Lambda, where a batch stops at the invocation payload limit.
   */
  maxBatchBytes?: number;
  recordBytes?: (record: ConsumedRecord) => number;
  /**
   * How many partitions' batches may be in `eachBatch` at once (default 1). A partition never has two
   * batches in flight, so records of one partition are still handed over in offset order.
   */
  partitionsConsumedConcurrently?: number;
  /**
   * Called with records of one partition, in offset order. When it resolves, the offset after the last
   * record is committed for the group; when it rejects, nothing is committed and the consumer stops with
   * that error (see `LogConsumer.done`).
   */
  eachBatch: (batch: RecordBatch) => Promise<void>;
}

export interface LogConsumer {
  /** Resolves when the consumer has joined and is fetching. */
  readonly ready: Promise<void>;
  /** Settles when the consumer stops: resolves after `stop()`, rejects if `eachBatch` failed. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
}

export interface LogHealth {
  ok: boolean;
  backend: "embedded" | "kafka";
  detail: string;
  /** The last append that failed, when no append has succeeded since (the log works but lost a write). */
  lastAppendError?: { at: string; message: string };
}

export interface EventLog {
  readonly backend: "embedded" | "kafka";
  /** Creates the topics that are missing; existing topics are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** Number of partitions of an existing topic. */
  partitionCount(topic: string): Promise<number>;
  /**
   * Appends records durably (acks=all on Kafka, a committed transaction on SQLite). The promise resolves
   * only when every record is durable, with the coordinates in input order. Concurrent calls are batched.
   */
  append(topic: string, records: LogRecordInput[]): Promise<AppendedRecord[]>;
  consume(options: ConsumerOptions): LogConsumer;
  /** Offsets per partition: the first retained (`low`) and the next to be written (`high`). */
  offsets(topic: string): Promise<{ partition: number; low: string; high: string }[]>;
  /** Committed offset per partition for a group (`null` where nothing is committed). */
  committedOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string | null }[]>;
  health(): Promise<LogHealth>;
  close(): Promise<void>;
}
