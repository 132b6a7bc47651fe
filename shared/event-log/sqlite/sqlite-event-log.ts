import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
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
import { logger } from "#shared/logging/index.ts";
import { AppendSignal } from "./append-signal.ts";
import { encodeHeaders } from "./headers.ts";
import { checkLogFile } from "./integrity.ts";
import { type AppendRequest, type EncodedRecord, LogStore, type TopicMeta } from "./log-store.ts";
import { prepareDatabase } from "./schema.ts";
import { SqliteConsumer } from "./sqlite-consumer.ts";

const log = logger("event-log");

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** Records per write transaction when many appends queue up; keeps one commit from stalling the loop. */
const MAX_RECORDS_PER_TRANSACTION = 20_000;
/** Records deleted per retention transaction; the sweep yields to appends between steps. */
const SWEEP_STEP_RECORDS = 5_000;

const optionsSchema = z.object({
  file: z.string().min(1, "must be a file path"),
  retentionHours: z.number().positive("must be a positive number of hours"),
  /** Partitions of a topic created implicitly by append() or consume(), like Kafka's num.partitions. */
  partitionsDefault: z.number().int().min(1).max(100_000).default(1),
  /** How often a waiting consumer looks for records appended by other processes. */
  pollIntervalMs: z.number().int().min(1).default(150),
  /** How often expired records are deleted. */
  retentionCheckIntervalMs: z.number().int().min(1).default(60_000),
  /** A group member silent this long (process frozen, or gone on another host) loses its partitions. */
  sessionTimeoutMs: z.number().int().min(100).default(10_000),
  /** How long a statement waits for another process's write lock before failing. */
  busyTimeoutMs: z.number().int().min(0).default(5_000),
  /** Longest time the start-up integrity check (SQLite quick_check) may take before it is abandoned. */
  checkTimeoutMs: z.number().int().min(0).default(10_000),
  /** Where a failed append is reported (default: the `event-log` logger). */
  onAppendError: z
    .custom<(line: string) => void>((value) => typeof value === "function")
    .default(() => (line: string) => log.error(line)),
  /** Wall clock for append times, retention and leases; tests move it forward. */
  clock: z.custom<() => number>((value) => typeof value === "function").default(() => Date.now),
});

export type SqliteEventLogOptions = z.input<typeof optionsSchema>;

interface PendingAppend {
  request: AppendRequest;
  resolve: (offsets: number[]) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded event log: Kafka's model (topics, keyed partitions, per-partition offsets, consumer groups
 * with committed offsets, time-based retention) in one SQLite file in WAL mode.
 *
 * Appends are group-committed: every append() call made before the event loop next reaches its check phase
 * is written in one transaction, and each promise resolves only after that transaction committed.
 */
export class SqliteEventLog implements EventLog {
  readonly backend = "embedded" as const;
  readonly file: string;

  private readonly db: Database.Database;
  private readonly store: LogStore;
  private readonly signal = new AppendSignal();
  private readonly options: z.output<typeof optionsSchema>;
  private readonly consumers = new Set<SqliteConsumer>();
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  /** The last failed append and the last successful one, for health (a failure not yet followed by a success degrades it). */
  private lastAppendError: { at: number; message: string; seq: number } | undefined;
  private lastAppendOkSeq = 0;
  /** Counts settled appends, so a failure and a success in the same millisecond still have an order. */
  private appendSeq = 0;

  constructor(options: SqliteEventLogOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new EventLogError(`Invalid embedded event log options: ${z.prettifyError(parsed.error)}`);
    }
    this.options = parsed.data;
    this.file = path.resolve(parsed.data.file);
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.db = new Database(this.file);
    } catch (error) {
      throw new EventLogError(`Cannot open the event log file ${this.file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      prepareDatabase(this.db, this.options.busyTimeoutMs);
      this.store = new LogStore(this.db);
    } catch (error) {
      this.db.close();
      if (error instanceof EventLogError) throw error;
      throw new EventLogError(`Cannot prepare the event log file ${this.file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.sweepTimer = setInterval(() => {
      this.sweepRetention().catch(() => {
        // A failed sweep (for example a long lock by another process) is retried at the next interval.
      });
    }, this.options.retentionCheckIntervalMs);
    this.sweepTimer.unref();
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const { topic, partitions } of topics) {
      assertTopicName(topic);
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100_000) {
        throw new EventLogError(
          `Topic "${topic}" needs a whole number of partitions (1..100000), got ${partitions}`,
        );
      }
    }
    for (const { topic, partitions } of topics) {
      if (this.store.topic(topic) === undefined) {
        this.store.createTopic(topic, partitions, this.options.clock());
      }
    }
  }

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    return this.store.requireTopic(topic).partitions;
  }

  append(topic: string, records: LogRecordInput[]): Promise<AppendedRecord[]> {
    try {
      this.assertOpen();
      assertTopicName(topic);
      if (records.length === 0) return Promise.resolve([]);
      const meta = this.resolveTopic(topic);
      const now = this.options.clock();
      const encoded = records.map((record): EncodedRecord => encodeRecord(record, meta, now));
      return new Promise<number[]>((resolve, reject) => {
        this.pending.push({ request: { topic: meta, records: encoded }, resolve, reject });
        this.scheduleFlush();
      }).then((offsets) =>
        offsets.map((offset, i) => ({ topic, partition: encoded[i]!.partition, offset: String(offset) })),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  consume(options: ConsumerOptions): LogConsumer {
    this.assertOpen();
    if (this.closing !== undefined) throw new EventLogError(`The event log ${this.file} is closing`);
    for (const topic of options.topics ?? []) assertTopicName(topic);
    const consumer = new SqliteConsumer(
      {
        store: this.store,
        signal: this.signal,
        clock: this.options.clock,
        pollIntervalMs: this.options.pollIntervalMs,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        heartbeatIntervalMs: Math.max(50, Math.floor(this.options.sessionTimeoutMs / 5)),
        resolveTopic: (name) => this.resolveTopic(name),
        onStopped: (stopped) => {
          this.consumers.delete(stopped);
          // A standby member of the same group in this process takes over now rather than at its next heartbeat.
          for (const other of this.consumers) {
            if (other.groupId === stopped.groupId) other.rejoin();
          }
        },
      },
      options,
    );
    this.consumers.add(consumer);
    return consumer;
  }

  async offsets(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
    this.assertOpen();
    const meta = this.store.requireTopic(topic);
    return this.store
      .partitionOffsets(meta.topicId)
      .map(({ partition, low, high }) => ({ partition, low: String(low), high: String(high) }));
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<{ partition: number; offset: string | null }[]> {
    this.assertOpen();
    const meta = this.store.requireTopic(topic);
    const committed = this.store.leases.committedOffsets(groupId, meta.topicId);
    return Array.from({ length: meta.partitions }, (_, partition) => {
      const offset = committed.get(partition);
      return { partition, offset: offset === undefined ? null : String(offset) };
    });
  }

  async health(): Promise<LogHealth> {
    if (this.closed) return { ok: false, backend: this.backend, detail: `${this.file}: the log is closed` };
    try {
      const { topics } = this.store.checkHealth(this.options.clock());
      const failed = this.lastAppendError;
      if (failed && failed.seq > this.lastAppendOkSeq) {
        return {
          ok: true,
          backend: this.backend,
          detail: `${this.file}: readable and writable, ${topics} topics; the last append failed: ${failed.message}`,
          lastAppendError: { at: new Date(failed.at).toISOString(), message: failed.message },
        };
      }
      return {
        ok: true,
        backend: this.backend,
        detail: `${this.file}: readable and writable, ${topics} topics`,
      };
    } catch (error) {
      return { ok: false, backend: this.backend, detail: `${this.file}: ${(error as Error).message}` };
    }
  }

  /**
   * Deletes records appended more than `retentionHours` before `now` from the front of every partition and
   * advances the low watermarks. Runs periodically; callable directly (tests, maintenance). Returns the
   * number of records deleted.
   */
  sweepRetention(now: number = this.options.clock()): Promise<number> {
    if (this.sweeping !== undefined) return this.sweeping;
    const cutoff = now - this.options.retentionHours * 3_600_000;
    const sweep = async () => {
      let deleted = 0;
      for (;;) {
        if (this.closed) return deleted;
        const step = this.store.sweepStep(cutoff, SWEEP_STEP_RECORDS);
        deleted += step.deleted;
        if (!step.more) return deleted;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    this.sweeping = sweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.stop()));
    // Appends accepted before close() are still written and acknowledged.
    while (this.pending.length > 0) this.flush();
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => {});
    this.db.close();
  }

  private resolveTopic(name: string): TopicMeta {
    return (
      this.store.topic(name) ??
      this.store.createTopic(name, this.options.partitionsDefault, this.options.clock())
    );
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes queued appends in one transaction (or a few, for very large queues) and settles their promises. */
  private flush(): void {
    if (this.pending.length === 0) return;
    let take = 0;
    let recordCount = 0;
    while (take < this.pending.length && (take === 0 || recordCount < MAX_RECORDS_PER_TRANSACTION)) {
      recordCount += this.pending[take]!.request.records.length;
      take++;
    }
    const batch = this.pending.splice(0, take);
    if (this.pending.length > 0) this.scheduleFlush();

    let offsets: number[][];
    try {
      offsets = this.store.append(
        batch.map((pending) => pending.request),
        this.options.clock(),
      );
    } catch (error) {
      const failure = new EventLogError(
        `Appending to the event log file ${this.file} failed; nothing in this batch was acknowledged`,
        { cause: error },
      );
      const message = (error as Error).message;
      this.lastAppendError = { at: this.options.clock(), message, seq: ++this.appendSeq };
      this.options.onAppendError(
        `event log: appending ${recordCount} record(s) to ${this.file} failed: ${message}`,
      );
      for (const pending of batch) pending.reject(failure);
      return;
    }
    this.lastAppendOkSeq = ++this.appendSeq;
    batch.forEach((pending, i) => {
      pending.resolve(offsets[i]!);
    });
    this.signal.notify(new Set(batch.map((pending) => pending.request.topic.topicId)));
  }

  private assertOpen(): void {
    if (this.closed) throw new EventLogError(`The event log ${this.file} is closed`);
  }
}

function assertTopicName(topic: string): void {
  if (typeof topic !== "string" || !TOPIC_NAME.test(topic)) {
    throw new EventLogError(
      `Invalid topic name ${JSON.stringify(topic)}: use 1 to 249 letters, digits, '.', '_' or '-'`,
    );
  }
}

function encodeRecord(record: LogRecordInput, topic: TopicMeta, now: number): EncodedRecord {
  const timestamp = record.timestamp ?? now;
  if (!Number.isSafeInteger(timestamp)) {
    throw new EventLogError(`Record timestamp must be whole milliseconds since the epoch, got ${timestamp}`);
  }
  return {
    partition: partitionForKey(record.key, topic.partitions),
    timestamp,
    key: Buffer.from(record.key, "utf8"),
    value: Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value, "utf8"),
    headers: encodeHeaders(record.headers),
  };
}

/**
 * Opens (creating if needed) the embedded event log file, after checking an existing file's integrity
 * (checkLogFile): a damaged file is refused with what to do.
 */
export async function openSqliteEventLog(options: SqliteEventLogOptions): Promise<SqliteEventLog> {
  if (typeof options.file === "string" && options.file.length > 0) {
    const check = await checkLogFile(path.resolve(options.file), options.checkTimeoutMs ?? 10_000);
    if (check.outcome === "timed-out") {
      (options.onAppendError ?? ((line: string) => log.warn(line)))(
        `event log: the integrity check of ${options.file} did not finish within ${check.ms} ms; starting without it`,
      );
    }
  }
  return new SqliteEventLog(options);
}
