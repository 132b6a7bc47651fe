/** How the event log reacts to an error from kafkajs. */
export type ErrorAction =
  /** Transient (broker down or restarting, leader moving, timeout): retry until the deadline. */
  | "retry"
  /** The broker forgot or rejected this producer's id/sequence: retry with a new producer. */
  | "reset-producer"
  /** Retrying cannot help (record too large, not authorised, bad input): fail now. */
  | "fatal";

interface KafkaJsLikeError {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

const TRANSIENT_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSTopicMetadataNotLoaded",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSLockTimeout",
  "KafkaJSStaleTopicMetadataAssignment",
]);

const PRODUCER_STATE_TYPES = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "PRODUCER_FENCED",
]);

function asKafkaError(error: unknown): KafkaJsLikeError | undefined {
  return typeof error === "object" && error !== null ? (error as KafkaJsLikeError) : undefined;
}

/** The innermost error: kafkajs wraps the real cause in KafkaJSNumberOfRetriesExceeded and friends. */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const e = asKafkaError(current);
    const next = e?.originalError ?? e?.cause;
    if (next === undefined || next === current) return current;
    current = next;
  }
  return current;
}

export function classifyKafkaError(error: unknown): ErrorAction {
  const root = asKafkaError(rootCause(error));
  if (!root || typeof root.name !== "string" || !root.name.startsWith("KafkaJS")) return "fatal";
  if (root.type && PRODUCER_STATE_TYPES.has(root.type)) return "reset-producer";
  if (TRANSIENT_NAMES.has(root.name)) return "retry";
  // A plain KafkaJSError (for example "The producer is disconnected") is retriable unless marked otherwise.
  return root.retriable === false ? "fatal" : "retry";
}

export function describeKafkaError(error: unknown): string {
  const outer = asKafkaError(error);
  const root = asKafkaError(rootCause(error));
  const message = root?.message ?? outer?.message ?? String(error);
  const type = root?.type ? ` (${root.type})` : "";
  return `${message}${type}`;
}
