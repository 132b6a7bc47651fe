import type { ValidationIssue } from "#shared/events/index.ts";

/**
 * Reply frames of both protocols. The v1 texts are the original platform's, kept byte for byte so that
 * existing devices keep working; v2 replies are kept under API Gateway's 32 KB frame limit.
 */

export const API_GATEWAY_FRAME_LIMIT = 32 * 1024;

export const v1Replies = {
  authenticated: JSON.stringify({ status: "authenticated", message: "Authentication successful" }),
  authenticationRefused: (message: string) => JSON.stringify({ status: "error", message }),
  /** The original API's text for an accepted message; its devices ignore replies, but tools compare it. */
  accepted: JSON.stringify({ success: true, message: "Data received" }),
  rejected: (message: string) => JSON.stringify({ success: false, message }),
};

export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => issue.message).join("; ");
}

export type V2ErrorCode =
  | "malformed_json"
  | "not_authenticated"
  | "invalid_frame"
  | "frame_too_large"
  | "log_unavailable"
  | "internal_error";

export function v2Error(error: V2ErrorCode, message: string, batchId?: string): string {
  return JSON.stringify({
    type: "error",
    error,
    message,
    ...(batchId === undefined ? {} : { batch_id: batchId }),
  });
}

export type EventResult = { ok: true } | { ok: false; errors: ValidationIssue[] };

/**
 * Builds the ack of a v2 batch, trimming error details step by step until it fits the frame limit:
 * first every detail, then the first issue with a shortened message, then field and rule only.
 * Accepted/rejected counts and the per-event ok flags are never dropped.
 */
export function v2Ack(batchId: string, results: readonly EventResult[]): string {
  const accepted = results.filter((r) => r.ok).length;
  const build = (shape: (r: EventResult) => unknown, truncated: boolean) =>
    JSON.stringify({
      type: "ack",
      batch_id: batchId,
      accepted,
      rejected: results.length - accepted,
      results: results.map(shape),
      ...(truncated ? { truncated: true } : {}),
    });
  const shapes: ((r: EventResult) => unknown)[] = [
    (r) => r,
    (r) =>
      r.ok
        ? r
        : {
            ok: false,
            errors: r.errors.slice(0, 1).map((e) => ({ ...e, message: e.message.slice(0, 120) })),
          },
    (r) =>
      r.ok ? r : { ok: false, errors: r.errors.slice(0, 1).map(({ field, rule }) => ({ field, rule })) },
    (r) => (r.ok ? r : { ok: false }),
  ];
  let reply = "";
  for (const [step, shape] of shapes.entries()) {
    reply = build(shape, step > 0);
    if (Buffer.byteLength(reply) <= API_GATEWAY_FRAME_LIMIT) return reply;
  }
  return reply;
}
