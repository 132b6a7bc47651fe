import type { Context } from "aws-lambda";
import type { InProcessKafkaEvent, KafkaBatchResponse, KafkaEvent } from "#shared/lambda/kafka-event.ts";

export type {
  InProcessKafkaEvent,
  KafkaBatchItemFailure,
  KafkaBatchResponse,
  KafkaEvent,
  KafkaEventRecord,
  MskEvent,
  SelfManagedKafkaEvent,
} from "#shared/lambda/kafka-event.ts";

// biome-ignore lint/suspicious/noConfusingVoidType: Lambda handlers may return nothing.
export type KafkaHandlerResult = KafkaBatchResponse | void | undefined | null;

/**
 * A function on a Kafka event source. A handler of this project (a `SessionsHandler`, shared/lambda) also
 * has a typed `inProcess` entry taking the records decoded: the runtime calls that one when it is there.
 */
export interface KafkaHandler {
  (event: KafkaEvent, context: Context): Promise<KafkaHandlerResult>;
  inProcess?: (event: InProcessKafkaEvent, context: Context) => Promise<KafkaHandlerResult>;
}

export type StartingPosition = "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP";

/** One `msk` or `kafka` event of a function in serverless.yml, with Lambda's defaults applied. */
export interface EventSourceSpec {
  functionName: string;
  /** serverless.yml `handler`, for example `dist/functions/jupiter/handler.handler`. */
  handler: string;
  /** Function timeout in seconds (function `timeout`, else provider `timeout`, else 6). */
  timeoutSeconds: number;
  kind: "msk" | "kafka";
  topic: string;
  consumerGroupId: string;
  /** 1..10 000, default 100. */
  batchSize: number;
  /** Default 500 ms (serverless.yml gives seconds). */
  maximumBatchingWindowMs: number;
  startingPosition: StartingPosition;
  /** Milliseconds since the epoch, for AT_TIMESTAMP. */
  startingPositionTimestampMs?: number;
  /** MSK cluster ARN (msk) — copied into `eventSourceArn`. */
  eventSourceArn?: string;
  /** Comma-separated list, as in the event. */
  bootstrapServers: string;
  reportBatchItemFailures: boolean;
  /** -1 means infinite (Lambda's default); with an on-failure destination, infinite becomes 10. */
  maximumRetryAttempts: number;
  /** -1 means infinite. */
  maximumRecordAgeInSeconds: number;
  bisectBatchOnFunctionError: boolean;
  /** Topic of a `kafka://topic` on-failure destination. */
  onFailureTopic?: string;
  enabled: boolean;
}

/** What a dashboard reads: one entry per event source. */
export interface EventSourceStats {
  functionName: string;
  topic: string;
  consumerGroupId: string;
  /** Records not yet committed by the group, summed over partitions (null while unknown). */
  lag: number | null;
  lagByPartition: Record<string, number>;
  /** Records whose processing completed (handled or sent to the on-failure destination). */
  recordsProcessed: number;
  recordsPerSecond: number;
  invocations: number;
  /** Invocations that threw, timed out or reported failed items. */
  failedInvocations: number;
  recordsSentToDestination: number;
  /** Records dropped after retries without a destination. */
  recordsDiscarded: number;
  lastError?: string;
  /** Running, or retrying (with the reason and since when) after the log failed it. */
  state?: {
    state: "starting" | "running" | "retrying" | "stopped";
    since: string;
    lastError?: string;
    attempts: number;
    lastCommitAt?: string;
  };
  updatedAt: string;
}

export interface RuntimeStats {
  backend: "embedded" | "kafka";
  startedAt: string;
  updatedAt: string;
  eventSources: EventSourceStats[];
}
