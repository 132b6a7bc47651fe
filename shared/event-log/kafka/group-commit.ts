import type { AppendedRecord, LogRecordInput } from "#shared/event-log/types.ts";

/** One record waiting to be sent, with its estimated size on the wire. */
export interface GroupItem {
  topic: string;
  record: LogRecordInput;
  size: number;
  /** When the append call holding this record was made (Date.now()), for its deadline. */
  enqueuedAt: number;
}

/** Sends one group; resolves with one coordinate per item, in item order, once the broker acknowledged. */
export type SendGroup = (items: GroupItem[]) => Promise<AppendedRecord[]>;

export interface GroupLimits {
  /** Most records in one group (one produce request). */
  maxRecords: number;
  /**
   * Most estimated bytes in one group. Keep it under the broker's `message.max.bytes` (1 MiB by default):
   * kafkajs puts all of a partition's records of a request into one record batch, which the broker
   * rejects whole when it is larger than that. A single record larger than this is sent alone.
   */
  maxBytes: number;
}

export interface GroupCommitStats {
  /** Produce requests sent (groups), including retried ones once. */
  groups: number;
  /** Records acknowledged. */
  records: number;
  /** Largest group sent, in records. */
  largestGroup: number;
}

interface PendingCall {
  topic: string;
  records: LogRecordInput[];
  sizes: number[];
  enqueuedAt: number;
  /** Index of the first record not yet taken into a group. */
  next: number;
  results: AppendedRecord[];
  outstanding: number;
  settled: boolean;
  resolve: (records: AppendedRecord[]) => void;
  reject: (error: unknown) => void;
}

const RECORD_OVERHEAD_BYTES = 70;

/** Rough size of a record in a produce request (uncompressed record batch), for group limits. */
export function estimateRecordSize(record: LogRecordInput): number {
  let size = RECORD_OVERHEAD_BYTES + Buffer.byteLength(record.key);
  size += typeof record.value === "string" ? Buffer.byteLength(record.value) : record.value.length;
  if (record.headers) {
    for (const [name, value] of Object.entries(record.headers)) {
      size += 8 + Buffer.byteLength(name) + Buffer.byteLength(value);
    }
  }
  return size;
}

/**
 * Group commit: while one group is being sent, appends queue up; when the send settles, everything
 * queued (up to the limits) goes out as the next group. One group is in flight at a time, which is also
 * what the idempotent producer needs (`maxInFlightRequests: 1`). An append resolves when all of its
 * records were acknowledged, and rejects if any group holding one of its records failed.
 */
export class GroupCommitter {
  private readonly queue: PendingCall[] = [];
  private sending = false;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counters: GroupCommitStats = { groups: 0, records: 0, largestGroup: 0 };

  constructor(
    private readonly send: SendGroup,
    private readonly limits: GroupLimits,
  ) {}

  append(topic: string, records: LogRecordInput[]): Promise<AppendedRecord[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<AppendedRecord[]>((resolve, reject) => {
      this.queue.push({
        topic,
        records,
        sizes: records.map(estimateRecordSize),
        enqueuedAt: Date.now(),
        next: 0,
        results: new Array<AppendedRecord>(records.length),
        outstanding: records.length,
        settled: false,
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counters };
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Rejects everything queued but not yet sent (used when closing without a broker). */
  rejectQueued(error: unknown): void {
    for (const call of this.queue.splice(0)) {
      if (!call.settled) {
        call.settled = true;
        call.reject(error);
      }
    }
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.sending || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: callers that were just resolved get to queue their next append
    // before the group is cut, so that a steady stream of appends travels in few, large groups.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private takeGroup(): { items: GroupItem[]; owners: Array<{ call: PendingCall; index: number }> } {
    const items: GroupItem[] = [];
    const owners: Array<{ call: PendingCall; index: number }> = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const call = this.queue[0]!;
      if (call.settled) {
        this.queue.shift();
        continue;
      }
      while (call.next < call.records.length) {
        const size = call.sizes[call.next]!;
        const full =
          items.length >= this.limits.maxRecords || (items.length > 0 && bytes + size > this.limits.maxBytes);
        if (full) return { items, owners };
        items.push({
          topic: call.topic,
          record: call.records[call.next]!,
          size,
          enqueuedAt: call.enqueuedAt,
        });
        owners.push({ call, index: call.next });
        bytes += size;
        call.next++;
      }
      this.queue.shift();
    }
    return { items, owners };
  }

  private pump(): void {
    if (this.sending) return;
    const { items, owners } = this.takeGroup();
    if (items.length === 0) {
      this.notifyIdle();
      return;
    }
    this.sending = true;
    this.counters.groups++;
    this.counters.largestGroup = Math.max(this.counters.largestGroup, items.length);
    this.send(items)
      .then(
        (coordinates) => {
          this.counters.records += items.length;
          owners.forEach(({ call, index }, i) => {
            if (call.settled) return;
            call.results[index] = coordinates[i]!;
            call.outstanding--;
            if (call.outstanding === 0) {
              call.settled = true;
              call.resolve(call.results);
            }
          });
        },
        (error: unknown) => {
          for (const { call } of owners) {
            if (!call.settled) {
              call.settled = true;
              call.reject(error);
            }
          }
        },
      )
      .finally(() => {
        this.sending = false;
        if (this.queue.length > 0) this.schedule();
        else this.notifyIdle();
      });
  }

  private notifyIdle(): void {
    if (this.sending || this.queue.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
