import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { EventLogError } from "#shared/errors.ts";
import type { ConsumedRecord, ConsumerOptions, LogConsumer } from "#shared/event-log/types.ts";
import { BatchBounds } from "../batch-bounds.ts";
import type { AppendSignal } from "./append-signal.ts";
import { decodeHeaders } from "./headers.ts";
import type { LeaseOwner, LeaseRow, LogStore, PartitionRef, TopicMeta } from "./log-store.ts";

/** Identifies this process in lease rows, so a restarted process that reuses a PID is not mistaken for it. */
const PROCESS_INSTANCE = randomUUID();
const HOST = hostname();
/** Members of this process that are running; a lease of this process held by anyone else is stale. */
const liveMembers = new Set<string>();

const DEFAULT_MAX_BATCH_SIZE = 500;
/** Records read from SQLite in one go (see SqliteConsumer.fetch). */
const FETCH_SLICE = 2_000;

export interface ConsumerContext {
  store: LogStore;
  signal: AppendSignal;
  clock: () => number;
  pollIntervalMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Returns the topic, creating it with the default partition count if it is missing (Kafka auto-create). */
  resolveTopic: (name: string) => TopicMeta;
  /** Called once the consumer has stopped and released its partitions. */
  onStopped: (consumer: SqliteConsumer) => void;
}

interface Assignment {
  ref: PartitionRef;
  topic: string;
  key: string;
}

const refKey = (ref: PartitionRef) => `${ref.topicId}:${ref.partition}`;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const offsetOf = (record: ConsumedRecord) => Number(record.offset);

/**
 * A group member on the embedded log. Partitions are owned through leases in the log file: a member takes
 * every partition of its topics that no live member of its group holds, so in one group exactly one member
 * (in this or another process) reads a partition at a time, and a second member waits as a standby until
 * the first stops, dies, or stays silent for `sessionTimeoutMs`. There is no rebalancing that splits
 * partitions among live members: on one machine one reader per partition keeps up, and Kafka is the answer
 * beyond that.
 */
export class SqliteConsumer implements LogConsumer {
  readonly ready: Promise<void>;
  readonly done: Promise<void>;
  readonly groupId: string;

  private readonly owner: LeaseOwner;
  private readonly bounds: BatchBounds;
  private readonly concurrency: number;
  private topics: TopicMeta[] = [];
  private assignments: Assignment[] = [];
  private readonly positions = new Map<string, number>();
  private cursor = 0;
  private stopping = false;
  private failure: unknown = undefined;
  private interruptWait: () => void = () => {};
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: ConsumerContext,
    private readonly options: ConsumerOptions,
  ) {
    if (typeof options.groupId !== "string" || options.groupId.length === 0) {
      throw new EventLogError("consume() needs a non-empty groupId");
    }
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new EventLogError(`consume() for group "${options.groupId}" needs at least one topic`);
    }
    this.bounds = new BatchBounds(options, DEFAULT_MAX_BATCH_SIZE);
    const concurrency = options.partitionsConsumedConcurrently ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new EventLogError(
        `partitionsConsumedConcurrently must be a positive whole number, got ${options.partitionsConsumedConcurrently}`,
      );
    }
    this.concurrency = concurrency;
    this.groupId = options.groupId;
    this.owner = {
      groupId: options.groupId,
      memberId: randomUUID(),
      instance: PROCESS_INSTANCE,
      pid: process.pid,
      host: HOST,
    };
    liveMembers.add(this.owner.memberId);

    let markReady: () => void = () => {};
    let failReady: (error: unknown) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.done = this.run(markReady, failReady);
    // Callers observe failures through `done`; an unobserved rejection must not crash the process.
    this.ready.catch(() => {});
    this.done.catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interruptWait();
    await this.done.catch(() => {});
  }

  /** Re-examines partition ownership now (another member of the group released its partitions). */
  rejoin(): void {
    if (this.stopping || this.heartbeatTimer === undefined) return;
    this.heartbeatSafely();
    this.interruptWait();
  }

  private async run(markReady: () => void, failReady: (error: unknown) => void): Promise<void> {
    try {
      // Let consume() hand the consumer back before the first (synchronous) database work.
      await Promise.resolve();
      this.topics = this.options.topics.map((name) => this.context.resolveTopic(name));
      this.heartbeat();
      this.heartbeatTimer = setInterval(() => this.heartbeatSafely(), this.context.heartbeatIntervalMs);
      markReady();
      while (!this.stopping) {
        if (this.failure !== undefined) throw this.failure;
        const delivered = await this.deliverRound();
        if (!delivered && !this.stopping && this.failure === undefined) await this.waitForRecords();
      }
    } catch (error) {
      failReady(error);
      throw error;
    } finally {
      this.stopping = true;
      clearInterval(this.heartbeatTimer);
      liveMembers.delete(this.owner.memberId);
      try {
        this.context.store.leases.release(this.owner.groupId, this.owner.memberId);
      } catch {
        // The file is unreachable; the leases expire after sessionTimeoutMs or when this process is gone.
      }
      this.context.onStopped(this);
    }
  }

  /**
   * Batches from the owned partitions, round-robin, with up to `partitionsConsumedConcurrently` partitions
   * in `eachBatch` at once and never one partition twice at once. Each lane takes the next free partition
   * as soon as its batch is done, so lanes drift apart instead of waiting for each other: while one batch
   * waits for its store, another is being decoded. The round ends when every lane has found every partition
   * empty (or taken). Returns whether anything was read.
   */
  private async deliverRound(): Promise<boolean> {
    if (this.assignments.length === 0) return false;
    const inFlight = new Set<string>();
    let delivered = false;
    const lane = async () => {
      let emptyInARow = 0;
      while (!this.stopping && this.failure === undefined) {
        const assignments = this.assignments;
        let picked: Assignment | undefined;
        for (let tried = 0; tried < assignments.length && picked === undefined; tried++) {
          const candidate = assignments[this.cursor++ % assignments.length]!;
          if (!inFlight.has(candidate.key)) picked = candidate;
        }
        if (picked === undefined) return;
        inFlight.add(picked.key);
        try {
          if (await this.deliverPartition(picked)) {
            delivered = true;
            emptyInARow = 0;
          } else if (++emptyInARow >= assignments.length) {
            return;
          }
        } finally {
          inFlight.delete(picked.key);
        }
      }
    };
    const lanes = Math.min(this.concurrency, this.assignments.length);
    const settled = await Promise.allSettled(Array.from({ length: lanes }, lane));
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return delivered;
  }

  /** Fetches one batch of a partition, hands it over, and commits after it. Returns whether there was one. */
  private async deliverPartition(assignment: Assignment): Promise<boolean> {
    const position = this.positions.get(assignment.key);
    if (position === undefined) return false; // lost at the last heartbeat
    const { records, full, bytes } = await this.fetch(assignment, position);
    if (records.length === 0) return false;
    await this.options.eachBatch({
      topic: assignment.topic,
      partition: assignment.ref.partition,
      records,
      full,
      bytes: this.bounds.measuresBytes ? bytes : undefined,
    });
    const next = Number(records[records.length - 1]!.offset) + 1;
    if (this.context.store.leases.commit(this.owner, assignment.ref, next, this.context.clock())) {
      this.positions.set(assignment.key, next);
    } else {
      // Another member took the partition while this batch ran: its commit wins, ours is dropped.
      this.positions.delete(assignment.key);
    }
    return true;
  }

  /**
   * Up to `maxBatchSize` records (and `maxBatchBytes`) from `position`, read in slices with a turn of the event loop between
   * them: a 10,000-record read takes tens of milliseconds, and meanwhile other partitions' handlers could
   * not even hear that their inserts are done.
   */
  private async fetch(
    assignment: Assignment,
    position: number,
  ): Promise<{ records: ConsumedRecord[]; full: boolean; bytes: number }> {
    const records: ConsumedRecord[] = [];
    const { topic, ref } = assignment;
    const make = (
      offset: number,
      timestamp: number,
      key: Buffer | null,
      value: Buffer | null,
      headers: Buffer | null,
    ) => ({
      topic,
      partition: ref.partition,
      offset: String(offset),
      timestamp,
      key,
      value,
      headers: decodeHeaders(headers),
    });
    let from = position;
    let bytes = 0;
    while (records.length < this.bounds.maxRecords) {
      if (records.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const want = Math.min(FETCH_SLICE, this.bounds.maxRecords - records.length);
      const slice = this.context.store.fetch(ref, from, want, make, offsetOf);
      const fit = this.bounds.fit(slice, 0, records.length, bytes);
      for (let i = 0; i < fit.count; i++) records.push(slice[i]!);
      bytes = fit.bytes;
      // The rest of a slice past the byte bound is read again for the next batch.
      if (fit.count < slice.length) return { records, full: true, bytes };
      if (slice.length < want) return { records, full: false, bytes };
      from = Number(slice[slice.length - 1]!.offset) + 1;
    }
    return { records, full: true, bytes };
  }

  private async waitForRecords(): Promise<void> {
    const topicIds = new Set(this.topics.map((topic) => topic.topicId));
    const { settled, interrupt } = this.context.signal.wait(topicIds, this.context.pollIntervalMs);
    this.interruptWait = interrupt;
    await settled;
  }

  private heartbeatSafely(): void {
    try {
      this.heartbeat();
    } catch (error) {
      this.failure = new EventLogError(`Consumer group "${this.groupId}" lost access to the event log file`, {
        cause: error,
      });
      this.interruptWait();
    }
  }

  /** Renews this member's leases, takes free partitions, and resolves where newly owned ones resume. */
  private heartbeat(): void {
    const wanted = this.topics.flatMap((topic) =>
      Array.from({ length: topic.partitions }, (_, partition) => ({ topicId: topic.topicId, partition })),
    );
    const now = this.context.clock();
    const claimed = this.context.store.leases.claim(
      this.owner,
      wanted,
      (ref) => this.positions.has(refKey(ref)),
      (lease) => this.leaseIsFree(lease, now),
      () => (this.options.fromBeginning ? "earliest" : "latest"),
      now,
    );
    const owned = new Set<string>();
    for (const { ref, resumeAt } of claimed) {
      const key = refKey(ref);
      owned.add(key);
      if (resumeAt !== null) this.positions.set(key, resumeAt);
    }
    for (const key of this.positions.keys()) {
      if (!owned.has(key)) this.positions.delete(key);
    }
    const topicNames = new Map(this.topics.map((topic) => [topic.topicId, topic.name]));
    this.assignments = claimed.map(({ ref }) => ({
      ref,
      topic: topicNames.get(ref.topicId)!,
      key: refKey(ref),
    }));
  }

  private leaseIsFree(lease: LeaseRow, now: number): boolean {
    if (lease.heartbeat_at < now - this.context.sessionTimeoutMs) return true;
    if (lease.owner_instance === PROCESS_INSTANCE) return !liveMembers.has(lease.member_id);
    if (lease.owner_host !== HOST) return false;
    // Same PID, other instance: an earlier process that this one replaced (PIDs repeat in containers).
    return lease.owner_pid === process.pid || !processIsAlive(lease.owner_pid);
  }
}
