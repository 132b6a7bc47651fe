import type { Admin, Kafka } from "kafkajs";
import { EventLogError } from "#shared/errors.ts";
import type { TopicSpec } from "#shared/event-log/types.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { describeKafkaError } from "./errors.ts";
import { settleDisconnects } from "./within.ts";

export const ADMIN_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 };
const PARTITION_CACHE_TTL_MS = 60_000;

export class MissingTopicError extends EventLogError {
  constructor(topic: string, brokers: string) {
    super(`topic "${topic}" does not exist on Kafka ${brokers} (create it with ensureTopics)`);
  }
}

/**
 * The Kafka admin side of the event log: topics, their partition counts (cached briefly for appends),
 * offsets and committed offsets, over one lazily connected admin client.
 */
export class KafkaTopicAdmin {
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();
  private admin: Admin | undefined;
  private adminConnecting: Promise<Admin> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly brokersText: string,
    private readonly replicationFactor: number,
  ) {}

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
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
            replicationFactor: this.replicationFactor,
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

  /** Partition count from a short-lived cache; throws EventLogError (fatal) if the topic does not exist. */
  async lookupPartitionCount(topic: string, fresh = false): Promise<number> {
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

  async offsets(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
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

  async close(): Promise<void> {
    await settleDisconnects([this.adminConnecting?.then((a) => a.disconnect()), this.admin?.disconnect()]);
    this.admin = undefined;
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
