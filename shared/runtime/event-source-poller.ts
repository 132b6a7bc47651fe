import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { ConsumedRecord, EventLog, LogConsumer, RecordBatch } from "#shared/event-log/types.ts";
import { partitionKey } from "#shared/lambda/sessions-record.ts";
import type { Logger } from "#shared/logging/index.ts";
import { type BackoffPolicy, backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { EventSourceStopped, InvocationError } from "./errors.ts";
import {
  buildInProcessKafkaEvent,
  buildKafkaEvent,
  chunkByPayload,
  MAX_PAYLOAD_BYTES,
  PAYLOAD_BUDGET_BYTES,
  recordPayloadBytes,
} from "./kafka-event.ts";
import type { EventSourceSpec, KafkaHandler, KafkaHandlerResult } from "./types.ts";

/** Headers added to a record sent to the on-failure topic (its own headers are kept). */
export const FAILURE_HEADERS = {
  reason: "lambda_failure_reason",
  error: "lambda_failure_error",
  functionName: "lambda_function_name",
  sourceTopic: "lambda_source_topic",
  sourcePartition: "lambda_source_partition",
  sourceOffset: "lambda_source_offset",
  retryAttempts: "lambda_retry_attempts",
  failedAt: "lambda_failed_at",
} as const;

export type FailureReason = "RetryAttemptsExhausted" | "RecordAgeExceeded" | "PayloadTooLarge";

/** With infinite retries and an on-failure destination, Lambda caps retries at 10 (kafka-on-failure-destination.html). */
const RETRIES_WITH_DESTINATION = 10;

/** First retry delay, doubled on each further retry up to maxMs (no jitter: one poller per function). */
export type RetryBackoff = Pick<BackoffPolicy, "initialMs" | "maxMs">;

export interface PollerOptions {
  spec: EventSourceSpec;
  handler: KafkaHandler;
  log: EventLog;
  /** Partitions of topics the runtime creates (source or destination topics that do not exist yet). */
  partitions: number;
  backoff: RetryBackoff;
  region: string;
  /** Where retries and discarded records are reported (the `runtime` logger). */
  runtimeLog: Pick<Logger, "info" | "warn">;
}

export interface PollerCounters {
  recordsProcessed: number;
  invocations: number;
  failedInvocations: number;
  recordsSentToDestination: number;
  recordsDiscarded: number;
  lastError?: string;
}

/**
 * Where a poller is: preparing its topics, consuming, or waiting to retry after the log failed it (the
 * reason is kept until it consumes again).
 */
export interface PollerState {
  state: "starting" | "running" | "retrying" | "stopped";
  /** When it entered this state (ISO time). */
  since: string;
  /** Why it is retrying (or the last failure, while running). */
  lastError?: string;
  /** Failed attempts in a row (preparing or consuming); 0 while running. */
  attempts: number;
  /** When a batch last completed and its offsets went to the log to be committed (ISO time). */
  lastCommitAt?: string;
}

type InvocationOutcome =
  | { ok: true }
  | { ok: false; error: string; partialFrom?: number; functionError: boolean };

interface PendingBatch {
  records: ConsumedRecord[];
  retries: number;
}

/**
 * One event source mapping: a consumer group member on the event log that turns each partition's records
 * into Lambda-shaped invocations. The log commits a partition's offsets only when `eachBatch` resolves, and
 * this class resolves it only once every record of the batch was handled successfully or sent to the
 * on-failure destination, so delivery is at-least-once and in offset order per partition.
 */
export class EventSourcePoller {
  readonly counters: PollerCounters = {
    recordsProcessed: 0,
    invocations: 0,
    failedInvocations: 0,
    recordsSentToDestination: 0,
    recordsDiscarded: 0,
  };
  readonly ready: Promise<void>;
  private consumer: LogConsumer | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly running: Promise<void>;
  /** Partitions of an AT_TIMESTAMP group without committed offsets: records before the timestamp are skipped. */
  private readonly skipBefore = new Set<number>();
  private markReady: () => void = () => {};
  private current: PollerState = { state: "starting", since: new Date().toISOString(), attempts: 0 };

  constructor(private readonly options: PollerOptions) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.running = this.run();
  }

  get spec(): EventSourceSpec {
    return this.options.spec;
  }

  /** The poller's state now: running, or retrying with the reason and since when. */
  state(): PollerState {
    return { ...this.current };
  }

  private enter(state: PollerState["state"], lastError?: string): void {
    const attempts = state === "retrying" ? this.current.attempts + 1 : 0;
    const since = this.current.state === state ? this.current.since : new Date().toISOString();
    this.current = {
      state,
      since,
      attempts,
      lastError: lastError ?? this.current.lastError,
      lastCommitAt: this.current.lastCommitAt,
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.consumer?.stop().catch(() => {});
    await this.running;
  }

  /**
   * Keeps a consumer running for as long as the poller is not stopped: preparing the topics and consuming
   * are both retried with capped backoff (the log may be unreachable at start, or go away later).
   */
  private async run(): Promise<void> {
    const { spec, log, partitions } = this.options;
    let prepared = false;
    let failures = 0;
    while (!this.stopping) {
      if (!prepared) {
        try {
          const topics = [{ topic: spec.topic, partitions }];
          if (spec.onFailureTopic) topics.push({ topic: spec.onFailureTopic, partitions });
          await log.ensureTopics(topics);
          if (spec.startingPosition === "AT_TIMESTAMP") {
            for (const { partition, offset } of await log.committedOffsets(
              spec.consumerGroupId,
              spec.topic,
            )) {
              if (offset === null) this.skipBefore.add(partition);
            }
          }
          prepared = true;
        } catch (error) {
          if (this.stopping) break;
          failures++;
          const message = (error as Error).message;
          this.enter("retrying", `cannot prepare ${spec.topic}: ${message}`);
          const wait = this.backoffMs(failures);
          this.options.runtimeLog.warn(
            `${spec.functionName}: cannot prepare ${spec.topic}: ${message}; retrying in ${formatWait(wait)}`,
          );
          // Start-up does not wait for a log that is down: the poller counts as ready and keeps trying.
          this.markReady();
          await this.sleep(wait).catch(() => {});
          continue;
        }
      }
      const consumer = log.consume({
        groupId: spec.consumerGroupId,
        topics: [spec.topic],
        fromBeginning: spec.startingPosition !== "LATEST",
        maxBatchSize: spec.batchSize,
        // A batch stops at the invocation payload limit and the rest comes in the next one, as on Lambda
        // (one full invocation rather than a full one and a small remainder for each fetch).
        maxBatchBytes: PAYLOAD_BUDGET_BYTES,
        recordBytes: recordPayloadBytes,
        // As on Lambda: one batch in flight per partition, the partitions of the topic side by side.
        partitionsConsumedConcurrently: partitions,
        eachBatch: (batch) => this.onBatch(batch),
      });
      this.consumer = consumer;
      consumer.ready.then(
        () => {
          failures = 0;
          if (!this.stopping) this.enter("running");
          this.markReady();
        },
        () => {},
      );
      try {
        await consumer.done;
      } catch (error) {
        if (this.stopping) break;
        failures++;
        const message = (error as Error).message;
        this.counters.lastError = message;
        this.enter("retrying", `consumer stopped: ${message}`);
        const wait = this.backoffMs(failures);
        this.options.runtimeLog.warn(
          `${spec.functionName}: consumer stopped (${message}); restarting in ${formatWait(wait)}`,
        );
        this.markReady();
        await this.sleep(wait).catch(() => {});
      }
    }
    this.enter("stopped");
    this.markReady();
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    const { spec } = this.options;
    let records = batch.records;
    if (this.skipBefore.has(batch.partition)) {
      const from = spec.startingPositionTimestampMs ?? 0;
      records = records.filter((record) => record.timestamp >= from);
      if (records.length > 0) this.skipBefore.delete(batch.partition);
    }
    if (records.length === 0) return;
    if (!batch.full) await this.batchingWindow(records);
    // The consumer counted the batch's payload (maxBatchBytes, recordPayloadBytes): within the budget it
    // is one invocation as it is, and its records are not counted again.
    const counted = batch.bytes !== undefined && batch.bytes <= PAYLOAD_BUDGET_BYTES;
    for (const chunk of counted ? [records] : chunkByPayload(records)) {
      if (chunk.length === 1 && recordPayloadBytes(chunk[0]!) > MAX_PAYLOAD_BYTES) {
        await this.fail(chunk, "PayloadTooLarge", "record exceeds the 6 MB invocation payload", 0);
        continue;
      }
      await this.deliver(chunk);
    }
    this.current.lastCommitAt = new Date().toISOString();
  }

  /**
   * A batch smaller than batchSize (and not stopped by the payload limit) waits until the window has passed
   * since its oldest record was written, so records that keep arriving are handed over together in the next
   * fetch (the log interface hands over one fetch per call; see docs/event-source-runtime.md).
   */
  private async batchingWindow(records: ConsumedRecord[]): Promise<void> {
    const { spec } = this.options;
    if (spec.maximumBatchingWindowMs <= 0 || records.length >= spec.batchSize) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const record of records) oldest = Math.min(oldest, record.timestamp);
    const wait = Math.min(spec.maximumBatchingWindowMs, oldest + spec.maximumBatchingWindowMs - Date.now());
    if (wait > 0) await this.sleep(wait);
  }

  /** Invokes until every record succeeded or went to the on-failure destination. */
  private async deliver(records: ConsumedRecord[]): Promise<void> {
    const { spec } = this.options;
    const maxRetries =
      spec.maximumRetryAttempts === -1 && spec.onFailureTopic
        ? RETRIES_WITH_DESTINATION
        : spec.maximumRetryAttempts;
    const pending: PendingBatch[] = [{ records, retries: 0 }];
    while (pending.length > 0) {
      if (this.stopping) throw new EventSourceStopped(spec.functionName);
      const current = pending[0]!;
      if (spec.maximumRecordAgeInSeconds >= 0) {
        const oldestAllowed = Date.now() - spec.maximumRecordAgeInSeconds * 1000;
        const expired = current.records.filter((record) => record.timestamp < oldestAllowed);
        if (expired.length > 0) {
          await this.fail(
            expired,
            "RecordAgeExceeded",
            "record is older than maximumRecordAgeInSeconds",
            current.retries,
          );
          current.records = current.records.filter((record) => record.timestamp >= oldestAllowed);
          if (current.records.length === 0) pending.shift();
          continue;
        }
      }
      const outcome = await this.invoke(current.records);
      if (outcome.ok) {
        this.counters.recordsProcessed += current.records.length;
        pending.shift();
        continue;
      }
      this.counters.failedInvocations++;
      this.counters.lastError = outcome.error;
      if (outcome.partialFrom !== undefined) {
        // Everything before the lowest failed offset succeeded; the retry starts at that record.
        this.counters.recordsProcessed += outcome.partialFrom;
        current.records = current.records.slice(outcome.partialFrom);
      }
      if (outcome.functionError && spec.bisectBatchOnFunctionError && current.records.length > 1) {
        // Splitting does not use up a retry; each half is retried on its own.
        const half = Math.ceil(current.records.length / 2);
        pending.splice(
          0,
          1,
          { records: current.records.slice(0, half), retries: current.retries },
          { records: current.records.slice(half), retries: current.retries },
        );
        continue;
      }
      if (maxRetries !== -1 && current.retries >= maxRetries) {
        await this.fail(current.records, "RetryAttemptsExhausted", outcome.error, current.retries);
        pending.shift();
        continue;
      }
      current.retries++;
      await this.sleep(this.backoffMs(current.retries));
    }
  }

  private async invoke(records: ConsumedRecord[]): Promise<InvocationOutcome> {
    const { spec, handler } = this.options;
    const timeoutMs = spec.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: spec.functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${this.options.region}:000000000000:function:${spec.functionName}`,
      memoryLimitInMB: "512",
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${spec.functionName}`,
      logStreamName: `local/${requestId}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => {},
      fail: () => {},
      succeed: () => {},
    };
    this.counters.invocations++;
    let timer: NodeJS.Timeout | undefined;
    let result: KafkaHandlerResult;
    try {
      result = await Promise.race([
        // A handler of this project takes the records as they are; any other gets Lambda's event.
        handler.inProcess
          ? handler.inProcess(buildInProcessKafkaEvent(records), context)
          : handler(buildKafkaEvent(spec, records), context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new InvocationError(`Task timed out after ${spec.timeoutSeconds.toFixed(2)} seconds`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      return {
        ok: false,
        functionError: true,
        error: error instanceof Error ? error.message : String(error),
      };
    } finally {
      clearTimeout(timer);
    }
    if (!spec.reportBatchItemFailures) return { ok: true };
    return this.partialOutcome(result, records);
  }

  /** Reads a partial batch response; one that names records not in the batch fails the whole batch, as on Lambda. */
  private partialOutcome(result: KafkaHandlerResult, records: ConsumedRecord[]): InvocationOutcome {
    const failures = result?.batchItemFailures;
    if (failures === undefined || failures === null) return { ok: true };
    if (!Array.isArray(failures)) {
      return { ok: false, functionError: true, error: "batchItemFailures is not an array" };
    }
    if (failures.length === 0) return { ok: true };
    let lowest = Number.POSITIVE_INFINITY;
    for (const failure of failures) {
      const id = failure?.itemIdentifier;
      const index = records.findIndex(
        (record) =>
          id !== null &&
          typeof id === "object" &&
          id.partition === partitionKey(record) &&
          Number(id.offset) === Number(record.offset),
      );
      if (index === -1) {
        return {
          ok: false,
          functionError: true,
          error: `batchItemFailures names a record that is not in the batch: ${JSON.stringify(id)}`,
        };
      }
      lowest = Math.min(lowest, index);
    }
    const first = records[lowest]!;
    return {
      ok: false,
      functionError: false,
      partialFrom: lowest,
      error: `handler reported ${failures.length} failed record(s), first at ${partitionKey(first)}@${first.offset}`,
    };
  }

  /** Sends records to the on-failure topic with the reason, or drops them (logged) when there is none. */
  private async fail(records: ConsumedRecord[], reason: FailureReason, error: string, retries: number) {
    const { spec, log } = this.options;
    if (!spec.onFailureTopic) {
      this.counters.recordsDiscarded += records.length;
      this.options.runtimeLog.warn(
        `${spec.functionName}: discarded ${records.length} record(s) of ${spec.topic} (${reason}: ${error}); no on-failure destination`,
      );
      return;
    }
    const failedAt = new Date().toISOString();
    await log.append(
      spec.onFailureTopic,
      records.map((record) => ({
        key: record.key?.toString("utf8") ?? "",
        value: record.value ?? Buffer.alloc(0),
        timestamp: record.timestamp,
        headers: {
          ...Object.fromEntries(
            Object.entries(record.headers).map(([name, value]) => [name, value.toString("utf8")]),
          ),
          [FAILURE_HEADERS.reason]: reason,
          [FAILURE_HEADERS.error]: error.slice(0, 2000),
          [FAILURE_HEADERS.functionName]: spec.functionName,
          [FAILURE_HEADERS.sourceTopic]: record.topic,
          [FAILURE_HEADERS.sourcePartition]: String(record.partition),
          [FAILURE_HEADERS.sourceOffset]: record.offset,
          [FAILURE_HEADERS.retryAttempts]: String(retries),
          [FAILURE_HEADERS.failedAt]: failedAt,
        },
      })),
    );
    this.counters.recordsSentToDestination += records.length;
    this.counters.recordsProcessed += records.length;
  }

  private backoffMs(attempt: number): number {
    return backoffDelay(attempt, this.options.backoff);
  }

  /** A delay that ends early, with EventSourceStopped, when the runtime stops. */
  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.abort.signal).catch(() => {
      throw new EventSourceStopped(this.options.spec.functionName);
    });
  }
}

function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
