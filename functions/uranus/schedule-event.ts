import { z } from "zod";
import { ScheduleEventError } from "#shared/runtime/schedule.ts";

/**
 * The event of a schedule (EventBridge) rule: `time` is the scheduled time, to the second
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html). serverless-offline
 * sends the same shape. Uranus uses `time` as the run's as-of time, so a retried invocation rebuilds the
 * same tables. `mode: "full"` (for a manual invocation) rebuilds every model from scratch.
 */
export const scheduleEventSchema = z
  .object({
    id: z.string().min(1).max(256).optional(),
    time: z.iso
      .datetime({ offset: true, error: "must be an ISO-8601 time such as 2026-11-29T10:15:00Z" })
      .optional(),
    "detail-type": z.string().optional(),
    source: z.string().optional(),
    mode: z.enum(["scheduled", "full"], { error: "must be 'scheduled' or 'full'" }).optional(),
  })
  .loose();

export interface GoldSchedule {
  asOf: Date;
  mode: "scheduled" | "full";
  /** The event's id: EventBridge keeps it when it delivers an event again. */
  eventId?: string;
}

/** Parses a schedule event; `now` is the as-of time when the event carries none. */
export function parseScheduleEvent(event: unknown, now: Date = new Date()): GoldSchedule {
  const parsed = scheduleEventSchema.safeParse(event ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ScheduleEventError(
      `Not a schedule event: ${issue?.path.join(".") || "event"} ${issue?.message ?? "is invalid"}`,
      { cause: parsed.error },
    );
  }
  return {
    asOf: parsed.data.time ? new Date(parsed.data.time) : now,
    mode: parsed.data.mode ?? "scheduled",
    ...(parsed.data.id ? { eventId: parsed.data.id } : {}),
  };
}

export { ScheduleEventError } from "#shared/runtime/schedule.ts";
