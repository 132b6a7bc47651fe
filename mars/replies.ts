import { V1_LOG_UNAVAILABLE_PREFIX } from "#shared/events/index.ts";

/**
 * What the server's replies mean, for both protocols (docs/events.md). Pure: the client decides what to do
 * with a reading (which frame it answers, whether to retry).
 */

/** A reply's JSON object, or undefined when the text is not one. */
export function parseReplyObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    return parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export type V1Reading =
  | { kind: "authenticated" }
  | { kind: "authentication-refused"; message: string }
  | { kind: "ignored"; notice: string }
  | { kind: "acknowledged" }
  /** Nothing was stored (the log was unavailable): the frame goes out again. */
  | { kind: "log-unavailable"; message: string }
  | { kind: "rejected"; message: string | undefined };

/** A v1 reply: before authentication, the answer to the authentication frame; after, a frame's result. */
export function readV1Reply(reply: Record<string, unknown>, authenticated: boolean): V1Reading {
  if (!authenticated) {
    if (reply.status === "authenticated") return { kind: "authenticated" };
    if (reply.status === "error") {
      const message = typeof reply.message === "string" ? reply.message : JSON.stringify(reply);
      return { kind: "authentication-refused", message };
    }
    return {
      kind: "ignored",
      notice: `Mars: ignored a reply before authentication: ${JSON.stringify(reply).slice(0, 200)}`,
    };
  }
  if (typeof reply.success !== "boolean") {
    return {
      kind: "ignored",
      notice: `Mars: ignored a reply without "success": ${JSON.stringify(reply).slice(0, 200)}`,
    };
  }
  if (reply.success) return { kind: "acknowledged" };
  if (typeof reply.message === "string" && reply.message.startsWith(V1_LOG_UNAVAILABLE_PREFIX)) {
    return { kind: "log-unavailable", message: reply.message };
  }
  return { kind: "rejected", message: typeof reply.message === "string" ? reply.message : undefined };
}

export type V2Reading =
  | {
      kind: "ack";
      batchId: string;
      accepted: number;
      /** Undefined when the ack does not say: then every unit not accepted was rejected. */
      rejected: number | undefined;
    }
  | { kind: "error"; batchId: string | undefined; code: string; message: string }
  | { kind: "unexpected"; notice: string };

/** A v2 reply: a batch's ack, or an error that may name a batch. */
export function readV2Reply(reply: Record<string, unknown>): V2Reading {
  const batchId = typeof reply.batch_id === "string" ? reply.batch_id : undefined;
  if (reply.type === "ack" && batchId !== undefined) {
    return {
      kind: "ack",
      batchId,
      accepted: typeof reply.accepted === "number" ? reply.accepted : 0,
      rejected: typeof reply.rejected === "number" ? reply.rejected : undefined,
    };
  }
  if (reply.type !== "error") {
    return {
      kind: "unexpected",
      notice: `Mars: ignored an unexpected reply: ${JSON.stringify(reply).slice(0, 200)}`,
    };
  }
  return {
    kind: "error",
    batchId,
    code: String(reply.error),
    message: typeof reply.message === "string" ? reply.message : "",
  };
}

/** The first rejection of an ack, as `field rule: message`. */
export function describeV2Rejection(reply: Record<string, unknown>): string {
  const results = Array.isArray(reply.results) ? reply.results : [];
  for (const result of results) {
    if (typeof result !== "object" || result === null || (result as { ok?: unknown }).ok !== false) continue;
    const errors = (result as { errors?: unknown }).errors;
    const first = Array.isArray(errors) ? (errors[0] as Record<string, unknown> | undefined) : undefined;
    if (first)
      return `${String(first.field ?? "")} ${String(first.rule ?? "")}: ${String(first.message ?? "")}`.trim();
    return "rejected";
  }
  return "rejected";
}
