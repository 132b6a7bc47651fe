import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { EventLogError } from "#shared/errors.ts";
import type { ConsumedRecord, ConsumerOptions, LogConsumer } from "#shared/event-log/types.ts";
import { BatchBounds } from "../batch-bounds.ts";
import { describeKafkaError } from "./errors.ts";

export interface KafkaConsumerTuning {
  /** Longest a fetch waits for data; also bounds how long `stop()` waits for an idle fetch. */
  maxWaitTimeMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === "string" ? Buffer.from(value) : value;
}

function toHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // A header repeated in one record arrives as an array; like Java's lastHeader(), keep the last.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = toBuffer(last);
  }
  return out;
}

function toRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: toHeaders(message.headers),
  };
}

/**
 * A consumer-group member on kafkajs: `eachBatch` per partition, in offset order, at most `maxBatchSize`
 * records per call; after each call resolves, the offset after its last record is committed (autoCommit is
 * off). When a call rejects, nothing more is committed, the consumer leaves the group and `done` rejects
 * with that error. Records of a batch that was not committed are delivered again to the next member.
 */
export class KafkaLogConsumer implements LogConsumer {
  readonly ready: Promise<void>;
  readonly done: Promise<void>;

  private readonly consumer: Consumer;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  private failure: { error: unknown } | undefined;
  private stopping: Promise<void> | undefined;
  private joined = false;
  private isReady = false;
  private readonly started: Promise<void>;
  private readonly bounds: BatchBounds;

  constructor(
    kafka: Kafka,
    private readonly options: ConsumerOptions,
    tuning: KafkaConsumerTuning,
    private readonly onStopped: (consumer: KafkaLogConsumer) => void,
  ) {
    if (options.topics.length === 0) throw new EventLogError("consume() needs at least one topic");
    // Without maxBatchSize a batch is whatever kafkajs fetched.
    this.bounds = new BatchBounds(options, Number.MAX_SAFE_INTEGER);
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers may await only one of the two; the other must not become an unhandled rejection.
    this.ready.catch(() => {});
    this.done.catch(() => {});

    this.consumer = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      // Let one fetch of a partition bring a whole batch's bytes (kafkajs fetches 1 MB per partition).
      ...(Number.isFinite(this.bounds.maxBytes)
        ? { maxBytesPerPartition: Math.max(1_048_576, Math.ceil(this.bounds.maxBytes)) }
        : {}),
    });
    this.watch();
    this.started = this.start();
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = this.shutdown();
    }
    return this.stopping;
  }

  private watch(): void {
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, (event) => {
      this.joined = true;
      // A member with no partitions (more members than partitions) never fetches: it is ready once joined.
      if (Object.keys(event.payload.memberAssignment).length === 0) this.markReady();
    });
    // Offsets of newly assigned partitions (committed, or earliest/latest) are resolved inside the first
    // fetch after a join, so "ready" waits for a completed fetch: a record appended after `ready` is seen
    // even by a group that starts at the latest offset.
    this.consumer.on(events.FETCH, () => {
      if (this.joined) this.markReady();
    });
    this.consumer.on(events.CRASH, (event) => {
      if (event.payload.restart || this.failure) return;
      this.fail(
        new EventLogError(
          `Kafka consumer of group "${this.options.groupId}" stopped: ${describeKafkaError(event.payload.error)}`,
          { cause: event.payload.error },
        ),
      );
    });
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.resolveReady();
  }

  private async start(): Promise<void> {
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({
        topics: this.options.topics,
        fromBeginning: this.options.fromBeginning,
      });
      if (this.stopping) return;
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      this.fail(
        new EventLogError(
          `Kafka consumer of group "${this.options.groupId}" for ${this.options.topics.join(", ")} could not start: ${describeKafkaError(error)}`,
          { cause: error },
        ),
      );
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const all = batch.messages.map((message) => toRecord(topic, partition, message));
    for (let start = 0; start < all.length; ) {
      if (this.failure || !payload.isRunning() || payload.isStale()) return;
      const { count, bytes } = this.bounds.fit(all, start, 0, 0);
      const messages = batch.messages.slice(start, start + count);
      const records = all.slice(start, start + count);
      start += count;
      try {
        await this.options.eachBatch({
          topic,
          partition,
          records,
          full: count === this.bounds.maxRecords || start < all.length,
          bytes: this.bounds.measuresBytes ? bytes : undefined,
        });
      } catch (error) {
        // Stop fetching this partition, commit nothing more, and leave; `done` rejects with the error.
        payload.pause();
        this.fail(error);
        return;
      }
      const last = messages[messages.length - 1]!;
      // Commit first, then move the fetch position: if the commit fails (rebalance, broker restart),
      // kafkajs recovers and the chunk is delivered again rather than skipped.
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: (BigInt(last.offset) + 1n).toString() }] }],
      });
      payload.resolveOffset(last.offset);
      await payload.heartbeat();
    }
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    // Leave the group outside kafkajs's eachBatch (stopping from inside it would wait for itself).
    setImmediate(() => void this.stop());
  }

  private async shutdown(): Promise<void> {
    await this.started.catch(() => {});
    try {
      await this.consumer.disconnect();
    } catch {
      // Leaving the group is best effort: the broker expires the member after its session timeout.
    }
    this.onStopped(this);
    if (this.failure) {
      this.rejectReady(this.failure.error);
      this.rejectDone(this.failure.error);
    } else {
      this.markReady();
      this.resolveDone();
    }
  }
}
