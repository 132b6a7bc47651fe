import { type Kafka, type Message, Partitioners, type Producer, type RecordMetadata } from "kafkajs";
import { EventLogError } from "#shared/errors.ts";
import { partitionForKey } from "#shared/event-log/partitioner.ts";
import type { AppendedRecord, LogRecordInput } from "#shared/event-log/types.ts";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { type KafkaTopicAdmin, MissingTopicError } from "./admin.ts";
import { classifyKafkaError, describeKafkaError } from "./errors.ts";
import { type GroupCommitStats, GroupCommitter, type GroupItem } from "./group-commit.ts";
import { settleDisconnects, TIMED_OUT, within } from "./within.ts";

/**
 * kafkajs retries a send a few times by itself (short backoff, about 3 s in all); the append loop around
 * it retries whole sends until `appendTimeoutMs`. A failed send leaves the idempotent producer's sequence
 * numbers where they were, so the retried send of the same group is deduplicated by the broker if the
 * first one was in fact written.
 */
const PRODUCER_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 };
/** Pauses between whole-send attempts: 100 ms, doubled up to 1 s, never past the append's deadline. */
const SEND_BACKOFF = { initialMs: 100, maxMs: 1_000 };
/** The shortest time one send attempt is given, even past the deadline (the first attempt always runs). */
const MIN_ATTEMPT_MS = 1_000;

export interface AppenderLimits {
  appendTimeoutMs: number;
  maxGroupRecords: number;
  maxGroupBytes: number;
}

interface Placement {
  topic: string;
  partition: number;
  index: number;
}

interface PreparedGroup {
  topicMessages: { topic: string; messages: Message[] }[];
  placement: Placement[];
}

export function validateRecords(topic: string, records: LogRecordInput[]): void {
  if (typeof topic !== "string" || topic.length === 0) throw new EventLogError("append() needs a topic name");
  if (!Array.isArray(records)) throw new EventLogError("append() needs an array of records");
  records.forEach((record, i) => {
    if (typeof record?.key !== "string")
      throw new EventLogError(`record ${i} for "${topic}": key must be a string`);
    if (typeof record.value !== "string" && !Buffer.isBuffer(record.value)) {
      throw new EventLogError(`record ${i} for "${topic}": value must be a string or a Buffer`);
    }
    if (record.timestamp !== undefined && !Number.isFinite(record.timestamp)) {
      throw new EventLogError(`record ${i} for "${topic}": timestamp must be milliseconds since the epoch`);
    }
    for (const [name, value] of Object.entries(record.headers ?? {})) {
      if (typeof value !== "string") {
        throw new EventLogError(`record ${i} for "${topic}": header "${name}" must be a string`);
      }
    }
  });
}

/**
 * Appends through one idempotent producer (acks=all, one request in flight) with group commit, and
 * remembers the last failed and the last successful append for the health report.
 */
export class KafkaAppender {
  private readonly committer: GroupCommitter;
  private producer: Producer | undefined;
  private producerConnecting: Promise<Producer> | undefined;
  /** The last failed append and the last successful one (health shows a failure not followed by a success). */
  private lastAppendError: { at: number; message: string; seq: number } | undefined;
  private lastAppendOkSeq = 0;
  /** Counts settled appends, so a failure and a success in the same millisecond still have an order. */
  private appendSeq = 0;
  /** A produce request whose group already gave up waiting; the next group waits for it to settle. */
  private abandonedSend: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: KafkaTopicAdmin,
    private readonly brokersText: string,
    private readonly limits: AppenderLimits,
  ) {
    this.committer = new GroupCommitter((items) => this.sendGroup(items), {
      maxRecords: limits.maxGroupRecords,
      maxBytes: limits.maxGroupBytes,
    });
  }

  append(topic: string, records: LogRecordInput[]): Promise<AppendedRecord[]> {
    return this.committer.append(topic, records).then(
      (appended) => {
        this.lastAppendOkSeq = ++this.appendSeq;
        return appended;
      },
      (error: unknown) => {
        this.lastAppendError = { at: Date.now(), message: (error as Error).message, seq: ++this.appendSeq };
        throw error;
      },
    );
  }

  stats(): GroupCommitStats {
    return this.committer.stats();
  }

  /** The last append's failure, unless an append succeeded after it. */
  unrecoveredError(): { at: number; message: string } | undefined {
    const failed = this.lastAppendError;
    return failed && failed.seq > this.lastAppendOkSeq ? failed : undefined;
  }

  /** Resolves when every append accepted so far has settled. */
  idle(): Promise<void> {
    return this.committer.idle();
  }

  async close(): Promise<void> {
    await settleDisconnects([
      this.producerConnecting?.then((p) => p.disconnect()),
      this.producer?.disconnect(),
    ]);
    this.producer = undefined;
  }

  /**
   * Sends one group and returns each item's coordinates. Partitions are chosen here with Kafka's default
   * (Java-compatible murmur2) partitioner, the one the embedded log uses too, and passed explicitly, so
   * that each record's offset is the partition's base offset in the response plus its position among that
   * partition's records.
   */
  private async sendGroup(items: GroupItem[]): Promise<AppendedRecord[]> {
    // The deadline counts from the oldest append call in the group, so that an append queued behind a
    // group that was retrying is not given a second full timeout.
    const since = items.reduce((oldest, item) => Math.min(oldest, item.enqueuedAt), Date.now());
    const deadline = since + this.limits.appendTimeoutMs;
    const topics = [...new Set(items.map((i) => i.topic))];
    let prepared: PreparedGroup | undefined;
    let lastError: unknown;
    // Every wait below is bounded by the deadline (at least MIN_ATTEMPT_MS per attempt), so an append
    // settles in about appendTimeoutMs even when a broker accepts connections but never answers.
    const left = () => Math.max(deadline - Date.now(), MIN_ATTEMPT_MS);
    // At least one attempt, however late: the broker may be back by now.
    for (let attempt = 1; attempt === 1 || Date.now() < deadline; attempt++) {
      try {
        // A request abandoned by an earlier group must settle first: one request in flight, in order.
        if (this.abandonedSend && (await within(this.abandonedSend, left())) === TIMED_OUT) {
          lastError = new Error("an earlier produce request is still unanswered");
          break;
        }
        const producer = await within(this.connectedProducer(), left());
        if (producer === TIMED_OUT) {
          lastError = new Error("could not connect the producer in time");
          break;
        }
        // Partitions are fixed on the first successful preparation: a retry must resend the very same
        // records per partition, or the broker could not recognise it as a duplicate.
        if (!prepared) {
          const ready = await within(this.prepare(items), left());
          if (ready === TIMED_OUT) {
            lastError = new Error("could not read the topics' partition counts in time");
            break;
          }
          prepared = ready;
        }
        const pendingSend = producer.sendBatch({ acks: -1, topicMessages: prepared.topicMessages });
        const result = await within(pendingSend, left());
        if (result === TIMED_OUT) {
          const abandoned: Promise<void> = pendingSend.then(
            () => {},
            () => {},
          );
          this.abandonedSend = abandoned;
          void abandoned.then(() => {
            if (this.abandonedSend === abandoned) this.abandonedSend = undefined;
          });
          lastError = new Error("no acknowledgement in time");
          break;
        }
        return this.coordinates(result, prepared.placement);
      } catch (error) {
        lastError = error;
        if (error instanceof MissingTopicError) throw error;
        const action = classifyKafkaError(error);
        if (action === "fatal") {
          throw new EventLogError(
            `Kafka ${this.brokersText} rejected ${items.length} record(s) for ${topics.join(", ")}: ${describeKafkaError(error)}`,
            { cause: error },
          );
        }
        if (action === "reset-producer") await this.resetProducer();
        await sleep(Math.min(backoffDelay(attempt, SEND_BACKOFF), Math.max(0, deadline - Date.now())));
      }
    }
    throw new EventLogError(
      `Kafka brokers ${this.brokersText} did not acknowledge ${items.length} record(s) for ${topics.join(", ")} ` +
        `within ${Math.round((Date.now() - since) / 1000)} s (last error: ${describeKafkaError(lastError)}); ` +
        "they may or may not have been written",
      { cause: lastError },
    );
  }

  private async prepare(items: GroupItem[]): Promise<PreparedGroup> {
    const byTopic = new Map<string, Message[]>();
    const perPartitionCount = new Map<string, number>();
    const placement: Placement[] = [];
    const counts = new Map<string, number>();
    for (const topic of new Set(items.map((i) => i.topic))) {
      counts.set(topic, await this.topics.lookupPartitionCount(topic));
    }
    for (const { topic, record } of items) {
      const partition = partitionForKey(record.key, counts.get(topic)!);
      const message: Message = { key: record.key, value: record.value, partition };
      if (record.headers) message.headers = record.headers;
      if (record.timestamp !== undefined) message.timestamp = String(Math.trunc(record.timestamp));
      const slot = `${topic}\u0000${partition}`;
      const index = perPartitionCount.get(slot) ?? 0;
      perPartitionCount.set(slot, index + 1);
      placement.push({ topic, partition, index });
      let messages = byTopic.get(topic);
      if (!messages) {
        messages = [];
        byTopic.set(topic, messages);
      }
      messages.push(message);
    }
    return {
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      placement,
    };
  }

  private coordinates(metadata: RecordMetadata[], placement: Placement[]): AppendedRecord[] {
    const base = new Map<string, bigint>();
    for (const m of metadata) {
      const offset = m.baseOffset ?? m.offset;
      if (offset !== undefined) base.set(`${m.topicName}\u0000${m.partition}`, BigInt(offset));
    }
    return placement.map(({ topic, partition, index }) => {
      const first = base.get(`${topic}\u0000${partition}`);
      if (first === undefined) {
        throw new EventLogError(`Kafka's produce response has no offset for ${topic}/${partition}`);
      }
      return { topic, partition, offset: (first + BigInt(index)).toString() };
    });
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.producerConnecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: PRODUCER_RETRY,
      });
      try {
        await producer.connect();
      } catch (error) {
        await producer.disconnect().catch(() => {});
        throw error;
      }
      this.producer = producer;
      return producer;
    })().finally(() => {
      this.producerConnecting = undefined;
    });
    return this.producerConnecting;
  }

  /** A new producer id: after the broker lost or fenced this producer's state, sequences start over. */
  private async resetProducer(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    await old?.disconnect().catch(() => {});
  }
}
