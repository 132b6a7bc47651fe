import { z } from "zod";
import { EVENT_LIMITS } from "./constants.ts";
import { issuesFromZod, type Validation, type ValidationIssue } from "./issues.ts";

/**
 * WebSocket frames around the events. The events inside a batch are left `unknown` here: each one is
 * validated on its own with `validateV2`, so one bad event rejects only itself.
 */

export const v2BatchFrameSchema = z.strictObject({
  type: z.literal("events"),
  batch_id: z.string().min(1).max(EVENT_LIMITS.maxBatchIdLength),
  events: z.array(z.unknown()).min(1).max(EVENT_LIMITS.maxBatchEvents),
});

export type V2BatchFrame = z.infer<typeof v2BatchFrameSchema>;

/** Per-event verdict in an ack, aligned with the batch's `events`. */
export type V2EventResult = { ok: true } | { ok: false; errors: ValidationIssue[] };

export interface V2AckFrame {
  type: "ack";
  batch_id: string;
  accepted: number;
  rejected: number;
  results: V2EventResult[];
}

/** A failure not tied to one batch (unparseable frame, unknown frame type, missing API key). */
export interface V2ErrorFrame {
  type: "error";
  error: string;
  message: string;
}

export const v1AuthFrameSchema = z.strictObject({
  type: z.literal("authentication"),
  api_key: z.string().min(1),
});

export type V1AuthFrame = z.infer<typeof v1AuthFrameSchema>;

export type V1AuthReply = { status: "authenticated"; message: string } | { status: "error"; message: string };

export interface V1Reply {
  success: boolean;
  message: string;
}

/** Validates the shell of a v2 batch frame (type, batch_id, 1..500 events), not the events themselves. */
export function validateV2BatchFrame(input: unknown): Validation<V2BatchFrame> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return {
      ok: false,
      issues: [{ field: "", rule: "not_object", message: "the frame must be a JSON object" }],
    };
  }
  const parsed = v2BatchFrameSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    issues: issuesFromZod(parsed.error.issues, input as Record<string, unknown>, "a v2 batch frame"),
  };
}

/**
 * Start of a v1 `{"success":false}` message that means "nothing was stored, send it again": the original
 * protocol has no error codes, so clients recognise this prefix.
 */
export const V1_LOG_UNAVAILABLE_PREFIX = "Event log unavailable";
