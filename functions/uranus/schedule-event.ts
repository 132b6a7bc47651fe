import { z } from "zod";
import { PacketPulseError } from "#shared/errors.ts";

/**
 * The event of a schedule (EventBridge) rule: `time` is the scheduled time, to the second
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html). serverless-offline
 * sends the same shape. Uranus uses `time` as the run's as-of time, so a retried invocation rebuilds the
 * same tables. `mode: "full"` (for a manual invocation) rebuilds every model from scratch.
 */
export const scheduleEventSchema = z
  .object({
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
}

export class ScheduleEventError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ScheduleEventError";
  }
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
  };
}

const RATE = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Milliseconds between runs of a `rate(N unit)` schedule expression; cron expressions are not supported here. */
export function scheduleRateMs(expression: string): number {
  const match = RATE.exec(expression.trim());
  if (!match || Number(match[1]) < 1) {
    throw new ScheduleEventError(
      `Schedule "${expression}" is not a rate expression such as rate(1 minute) or rate(5 minutes)`,
    );
  }
  const unit = match[2]!.replace(/s$/, "") as keyof typeof UNIT_MS;
  return Number(match[1]) * UNIT_MS[unit];
}

/**
 * The first enabled `schedule` event of a function in a resolved serverless.yml, as `rate(...)` text:
 * `- schedule: rate(1 minute)` or `- schedule: { rate: rate(1 minute) | [..], enabled: true }`.
 */
export function scheduleExpressionOf(
  service: { functions?: Record<string, { events?: unknown[] }> },
  functionName: string,
): string | undefined {
  for (const event of service.functions?.[functionName]?.events ?? []) {
    const schedule = (event as { schedule?: unknown }).schedule;
    if (typeof schedule === "string") return schedule;
    if (schedule && typeof schedule === "object") {
      const { rate, enabled } = schedule as { rate?: unknown; enabled?: unknown };
      if (enabled === false) continue;
      const first = Array.isArray(rate) ? rate[0] : rate;
      if (typeof first === "string") return first;
    }
  }
  return undefined;
}
