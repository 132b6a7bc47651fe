import {
  type Admin,
  type Kafka,
  Kafka as KafkaClient,
  type Message,
  Partitioners,
  type Producer,
  type RecordMetadata,
  type SASLOptions,
} from "kafkajs";
import type { KafkaConfig } from "#shared/config/index.ts";
import { EventLogError } from "#shared/errors.ts";
import { partitionForKey } from "#shared/event-log/partitioner.ts";
import type {
  AppendedRecord,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogHealth,
  LogRecordInput,
  TopicSpec,
} from "#shared/event-log/types.ts";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { KafkaLogConsumer } from "./consumer.ts";
import { classifyKafkaError, describeKafkaError } from "./errors.ts";
import { type GroupCommitStats, GroupCommitter, type GroupItem } from "./group-commit.ts";
import { createKafkaLogCreator, type KafkaLogLevelName, type KafkaLogSink } from "./logger.ts";

export interface KafkaEventLogOptions {
  /** kafkajs's own log output; default "error" (with retried connection noise demoted to warn). */
  logLevel?: KafkaLogLevelName;
  /** Where kafkajs's log lines go; default one line each on stderr. */
  logSink?: KafkaLogSink;
  /**
   * How long an append keeps retrying while the brokers are unreachable or not acknowledging, before it
   * rejects with an EventLogError. Default 30 000 ms.
   */
  appendTimeoutMs?: number;
  /** Group commit limits (see GroupLimits). Defaults: 5 000 records, 900 000 bytes. */
  maxGroupRecords?: number;
  maxGroupBytes?: number;
  /** Timeout of the `health()` probe; default 3 000 ms. */
  healthTimeoutMs?: number;
  /** kafkajs connection / request timeouts; defaults 3 000 / 30 000 ms. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Consumer fetch long-poll (also bounds how long `stop()` waits); default 500 ms. */
  consumerMaxWaitTimeMs?: number;
  consumerSessionTimeoutMs?: number;
  consumerHeartbeatIntervalMs?: number;
}

const PARTITION_CACHE_TTL_MS = 60_000;
const ADMIN_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 };
/**
 * kafkajs retries a send a few times by itself (short backoff, about 3 s in all); the append loop around
 * it retries whole sends until `appendTimeoutMs`. A failed send leaves the idempotent producer's sequence
 * numbers where they were, so the retried send of the same group is deduplicated by the broker if the
 * first one was in fact written.
 */
const PRODUCER_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 };

/** Pauses between whole-send attempts: 100 ms, doubled up to 1 s, never past the append's deadline. */
const SEND_BACKOFF = { initialMs: 100, maxMs: 1_000 };

const TIMED_OUT = Symbol("timed out");
/** The shortest time one send attempt is given, even past the deadline (the first attempt always runs). */
const MIN_ATTEMPT_MS = 1_000;
const CLOSE_TIMEOUT_MS = 5_000;

/** Resolves with the promise's value, or TIMED_OUT after `ms`; the promise keeps running either way. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function validateRecords(topic: string, records: LogRecordInput[]): void {
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
 * The Kafka backend of the event log (kafkajs). Appends go through one idempotent producer (acks=all,
 * one request in flight) with group commit; consumers are kafkajs consumer-group members committing after
 * each successful batch; offsets and health come from the admin client.
 */
export class KafkaEventLog implements EventLog {
  readonly backend = "kafka" as const;

  private readonly kafka: Kafka;
  private readonly healthKafka: Kafka;
  private readonly brokersText: string;
  private readonly committer: GroupCommitter;
  private readonly consumers = new Set<KafkaLogConsumer>();
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();
  private producer: Producer | undefined;
  private producerConnecting: Promise<Producer> | undefined;
  private admin: Admin | undefined;
  private adminConnecting: Promise<Admin> | undefined;
  private healthAdmin: Admin | undefined;
  /** The last failed append and the last successful one (health shows a failure not followed by a success). */
  private lastAppendError: { at: number; message: string; seq: number } | undefined;
  private lastAppendOkSeq = 0;
  /** Counts settled appends, so a failure and a success in the same millisecond still have an order. */
  private appendSeq = 0;
  /** A produce request whose group already gave up waiting; the next group waits for it to settle. */
  private abandonedSend: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly appendTimeoutMs: number;
  private readonly healthTimeoutMs: number;

  constructor(
    private readonly config: KafkaConfig,
    private readonly options: KafkaEventLogOptions = {},
  ) {
    if (config.brokers.length === 0) throw new EventLogError("Kafka event log needs at least one broker");
    this.brokersText = config.brokers.join(",");
    this.appendTimeoutMs = options.appendTimeoutMs ?? 30_000;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 3_000;
    const { logLevel, logCreator } = createKafkaLogCreator(options.logLevel ?? "error", options.logSink);
    const sasl = kafkaSaslOptions(config.sasl);
    const common = {
      clientId: config.clientId,
      brokers: config.brokers,
      ssl: config.ssl,
      sasl,
      logLevel,
      logCreator,
    };
    this.kafka = new KafkaClient({
      ...common,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: ADMIN_RETRY,
    });
    // The health probe must answer quickly, so it has its own client without retries.
    this.healthKafka = new KafkaClient({
      ...common,
      clientId: `${config.clientId}-health`,
      connectionTimeout: Math.min(this.healthTimeoutMs, 3_000),
      requestTimeout: this.healthTimeoutMs,
      retry: { retries: 0 },
    });
    this.committer = new GroupCommitter((items) => this.sendGroup(items), {
      maxRecords: options.maxGroupRecords ?? 5_000,
      maxBytes: options.maxGroupBytes ?? 900_000,
    });
  }

  // --- topics ------------------------------------------------------------------------------------------

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) {
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new EventLogError(
          `topic "${spec.topic}": partitions must be a positive integer (got ${spec.partitions})`,
        );
      }
    }
    if (topics.length === 0) return;
    try {
      const admin = await this.connectedAdmin();
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: this.config.replicationFactor,
          })),
        });
      }
      // Wait until metadata lists every topic with leaders for all of its partitions.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        const pending = metadata.filter(
          (m) => m.partitions.length === 0 || m.partitions.some((p) => p.leader < 0),
        );
        for (const m of metadata)
          this.partitionCounts.set(m.name, { count: m.partitions.length, at: Date.now() });
        if (pending.length === 0 && metadata.length === new Set(topics.map((t) => t.topic)).size) return;
        if (Date.now() > deadline) {
          throw new EventLogError(
            `topics ${pending.map((m) => m.name).join(", ")} have no leader after 30 s`,
          );
        }
        await sleep(100);
      }
    } catch (error) {
      if (error instanceof EventLogError) throw error;
      throw new EventLogError(
        `could not create topics ${topics.map((t) => t.topic).join(", ")} on Kafka ${this.brokersText}: ${describeKafkaError(error)}`,
        { cause: error },
      );
    }
  }

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    return this.lookupPartitionCount(topic, true);
  }

  /** Partition count from a short-lived cache; throws EventLogError (fatal) if the topic does not exist. */
  private async lookupPartitionCount(topic: string, fresh = false): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (!fresh && cached && Date.now() - cached.at < PARTITION_CACHE_TTL_MS) return cached.count;
    const admin = await this.connectedAdmin();
    // listTopics first: asking kafkajs for the metadata of a missing topic retries for seconds.
    const names = await admin.listTopics();
    if (!names.includes(topic)) {
      this.partitionCounts.delete(topic);
      throw new MissingTopicError(topic, this.brokersText);
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const count = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (count === 0) throw new MissingTopicError(topic, this.brokersText);
    this.partitionCounts.set(topic, { count, at: Date.now() });
    return count;
  }

  // --- append ------------------------------------------------------------------------------------------

  append(topic: string, records: LogRecordInput[]): Promise<AppendedRecord[]> {
    try {
      this.assertOpen();
      validateRecords(topic, records);
    } catch (error) {
      return Promise.reject(error);
    }
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

  /** Group commit counters (for tests and benchmarks). */
  appendStats(): GroupCommitStats {
    return this.committer.stats();
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
    const deadline = since + this.appendTimeoutMs;
    const topics = [...new Set(items.map((i) => i.topic))];
    let prepared:
      | { topicMessages: { topic: string; messages: Message[] }[]; placement: Placement[] }
      | undefined;
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

  private async prepare(
    items: GroupItem[],
  ): Promise<{ topicMessages: { topic: string; messages: Message[] }[]; placement: Placement[] }> {
    const byTopic = new Map<string, Message[]>();
    const perPartitionCount = new Map<string, number>();
    const placement: Placement[] = [];
    const counts = new Map<string, number>();
    for (const topic of new Set(items.map((i) => i.topic))) {
      counts.set(topic, await this.lookupPartitionCount(topic));
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

  // --- consume -----------------------------------------------------------------------------------------

  consume(options: ConsumerOptions): LogConsumer {
    this.assertOpen();
    const consumer = new KafkaLogConsumer(
      this.kafka,
      options,
      {
        maxWaitTimeMs: this.options.consumerMaxWaitTimeMs ?? 500,
        sessionTimeoutMs: this.options.consumerSessionTimeoutMs ?? 30_000,
        heartbeatIntervalMs: this.options.consumerHeartbeatIntervalMs ?? 3_000,
      },
      (stopped) => this.consumers.delete(stopped),
    );
    this.consumers.add(consumer);
    return consumer;
  }

  // --- offsets and health ------------------------------------------------------------------------------

  async offsets(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
    this.assertOpen();
    try {
      const admin = await this.connectedAdmin();
      if (!(await admin.listTopics()).includes(topic)) throw new MissingTopicError(topic, this.brokersText);
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets
        .map(({ partition, low, high }) => ({ partition, low, high }))
        .sort((a, b) => a.partition - b.partition);
    } catch (error) {
      throw this.wrap(error, `could not read the offsets of "${topic}"`);
    }
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<{ partition: number; offset: string | null }[]> {
    this.assertOpen();
    try {
      const admin = await this.connectedAdmin();
      const count = await this.lookupPartitionCount(topic, true);
      const response = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = new Map<number, string>();
      for (const entry of response.find((t) => t.topic === topic)?.partitions ?? []) {
        if (BigInt(entry.offset) >= 0n) committed.set(entry.partition, entry.offset);
      }
      return Array.from({ length: count }, (_, partition) => ({
        partition,
        offset: committed.get(partition) ?? null,
      }));
    } catch (error) {
      throw this.wrap(error, `could not read the committed offsets of group "${groupId}" for "${topic}"`);
    }
  }

  async health(): Promise<LogHealth> {
    if (this.closing) return { ok: false, backend: "kafka", detail: "the event log is closed" };
    const probe = (async () => {
      this.healthAdmin ??= this.healthKafka.admin({ retry: { retries: 0 } });
      await this.healthAdmin.connect();
      return this.healthAdmin.describeCluster();
    })();
    probe.catch(() => {});
    try {
      const cluster = await within(probe, this.healthTimeoutMs);
      if (cluster === TIMED_OUT) throw new Error(`no answer within ${this.healthTimeoutMs} ms`);
      const brokers = cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(", ");
      const failed = this.lastAppendError;
      return {
        ok: cluster.brokers.length > 0,
        backend: "kafka",
        detail: `Kafka cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s) (${brokers}), controller ${cluster.controller ?? "none"}`,
        ...(failed && failed.seq > this.lastAppendOkSeq
          ? { lastAppendError: { at: new Date(failed.at).toISOString(), message: failed.message } }
          : {}),
      };
    } catch (error) {
      const admin = this.healthAdmin;
      this.healthAdmin = undefined;
      void admin?.disconnect().catch(() => {});
      return {
        ok: false,
        backend: "kafka",
        detail: `Kafka ${this.brokersText} unreachable: ${describeKafkaError(error)}`,
      };
    }
  }

  // --- lifecycle ---------------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.consumers].map((c) => c.stop()));
      // Appends already accepted are still sent (bounded by appendTimeoutMs), then everything disconnects.
      await this.committer.idle();
      // Bounded: a client still connecting to a broker that does not answer must not hold close() up.
      const disconnects = [
        this.producerConnecting?.then((p) => p.disconnect()),
        this.producer?.disconnect(),
        this.adminConnecting?.then((a) => a.disconnect()),
        this.admin?.disconnect(),
        this.healthAdmin?.disconnect(),
      ].map((pending) => (pending ? within(pending, CLOSE_TIMEOUT_MS).catch(() => {}) : undefined));
      await Promise.all(disconnects);
      this.producer = undefined;
      this.admin = undefined;
      this.healthAdmin = undefined;
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new EventLogError("the Kafka event log is closed");
  }

  private connectedAdmin(): Promise<Admin> {
    if (this.admin) return Promise.resolve(this.admin);
    this.adminConnecting ??= (async () => {
      const admin = this.kafka.admin({ retry: ADMIN_RETRY });
      try {
        await admin.connect();
      } catch (error) {
        await admin.disconnect().catch(() => {});
        throw error;
      }
      this.admin = admin;
      return admin;
    })().finally(() => {
      this.adminConnecting = undefined;
    });
    return this.adminConnecting;
  }

  private wrap(error: unknown, what: string): EventLogError {
    if (error instanceof EventLogError) return error;
    return new EventLogError(`${what} from Kafka ${this.brokersText}: ${describeKafkaError(error)}`, {
      cause: error,
    });
  }
}

interface Placement {
  topic: string;
  partition: number;
  index: number;
}

class MissingTopicError extends EventLogError {
  constructor(topic: string, brokers: string) {
    super(`topic "${topic}" does not exist on Kafka ${brokers} (create it with ensureTopics)`);
  }
}

/**
 * kafkajs's SASL options for the configured authentication. MSK's IAM access control is SASL/OAUTHBEARER
 * with a token that aws-msk-iam-sasl-signer-js signs with the process's AWS credentials (the function's
 * role on Lambda); kafkajs asks for a new one when it reconnects
 * (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html).
 */
export function kafkaSaslOptions(sasl: KafkaConfig["sasl"]): SASLOptions | undefined {
  if (!sasl) return undefined;
  if (sasl.mechanism === "aws-msk-iam") {
    const { region } = sasl;
    return {
      mechanism: "oauthbearer",
      oauthBearerProvider: async () => {
        const { generateAuthToken } = await import("aws-msk-iam-sasl-signer-js");
        const { token } = await generateAuthToken({ region });
        return { value: token };
      },
    };
  }
  if ("secretParameter" in sasl) {
    throw new EventLogError(
      `Kafka SASL secret ${sasl.secretParameter} was not read: open the Kafka event log with openEventLog()`,
    );
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}
