import { Kafka as KafkaClient } from "kafkajs";
import type { KafkaConfig } from "#shared/config/index.ts";
import { EventLogError } from "#shared/errors.ts";
import type {
  AppendedRecord,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogHealth,
  LogRecordInput,
  TopicSpec,
} from "#shared/event-log/types.ts";
import { ADMIN_RETRY, KafkaTopicAdmin } from "./admin.ts";
import { KafkaLogConsumer } from "./consumer.ts";
import type { GroupCommitStats } from "./group-commit.ts";
import { KafkaHealthProbe } from "./health.ts";
import { createKafkaLogCreator, type KafkaLogLevelName, type KafkaLogSink } from "./logger.ts";
import { KafkaAppender, validateRecords } from "./producer.ts";
import { kafkaSaslOptions } from "./sasl.ts";

export { kafkaSaslOptions } from "./sasl.ts";

export interface KafkaEventLogOptions {
  /** kafkajs's own log output; default "error" (with retried connection noise demoted to warn). */
  logLevel?: KafkaLogLevelName;
  /** Where kafkajs's log lines go; default the platform's logger (component `kafkajs`). */
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

/**
 * The Kafka backend of the event log (kafkajs). Appends go through one idempotent producer with group
 * commit (producer.ts); consumers are kafkajs consumer-group members committing after each successful
 * batch (consumer.ts); topics and offsets come from the admin client (admin.ts), health from a probe
 * with a client of its own (health.ts).
 */
export class KafkaEventLog implements EventLog {
  readonly backend = "kafka" as const;

  private readonly kafka: KafkaClient;
  private readonly topics: KafkaTopicAdmin;
  private readonly appender: KafkaAppender;
  private readonly healthProbe: KafkaHealthProbe;
  private readonly consumers = new Set<KafkaLogConsumer>();
  private closing: Promise<void> | undefined;

  constructor(
    config: KafkaConfig,
    private readonly options: KafkaEventLogOptions = {},
  ) {
    if (config.brokers.length === 0) throw new EventLogError("Kafka event log needs at least one broker");
    const brokersText = config.brokers.join(",");
    const healthTimeoutMs = options.healthTimeoutMs ?? 3_000;
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
    const healthKafka = new KafkaClient({
      ...common,
      clientId: `${config.clientId}-health`,
      connectionTimeout: Math.min(healthTimeoutMs, 3_000),
      requestTimeout: healthTimeoutMs,
      retry: { retries: 0 },
    });
    this.topics = new KafkaTopicAdmin(this.kafka, brokersText, config.replicationFactor);
    this.appender = new KafkaAppender(this.kafka, this.topics, brokersText, {
      appendTimeoutMs: options.appendTimeoutMs ?? 30_000,
      maxGroupRecords: options.maxGroupRecords ?? 5_000,
      maxGroupBytes: options.maxGroupBytes ?? 900_000,
    });
    this.healthProbe = new KafkaHealthProbe(healthKafka, brokersText, healthTimeoutMs);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    return this.topics.ensureTopics(topics);
  }

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    return this.topics.lookupPartitionCount(topic, true);
  }

  append(topic: string, records: LogRecordInput[]): Promise<AppendedRecord[]> {
    try {
      this.assertOpen();
      validateRecords(topic, records);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.appender.append(topic, records);
  }

  /** Group commit counters (for tests and benchmarks). */
  appendStats(): GroupCommitStats {
    return this.appender.stats();
  }

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

  async offsets(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
    this.assertOpen();
    return this.topics.offsets(topic);
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<{ partition: number; offset: string | null }[]> {
    this.assertOpen();
    return this.topics.committedOffsets(groupId, topic);
  }

  async health(): Promise<LogHealth> {
    if (this.closing) return { ok: false, backend: "kafka", detail: "the event log is closed" };
    return this.healthProbe.check(() => this.appender.unrecoveredError());
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.consumers].map((c) => c.stop()));
      // Appends already accepted are still sent (bounded by appendTimeoutMs), then everything disconnects.
      await this.appender.idle();
      await Promise.all([this.appender.close(), this.topics.close(), this.healthProbe.close()]);
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new EventLogError("the Kafka event log is closed");
  }
}
