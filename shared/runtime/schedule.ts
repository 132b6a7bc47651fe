import { PacketPulseError } from "#shared/errors.ts";

/** `schedule` events of serverless.yml, as the local host runs them (EventBridge rules on AWS). */

export class ScheduleEventError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ScheduleEventError";
  }
}

const RATE = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export const MINUTE_MS = UNIT_MS.minute;

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

/** The variable that shortens every local schedule, for tests and trial runs (docs/decisions/030). */
export const SCHEDULE_SCALE_VARIABLE = "PACKETPULSE_SCHEDULE_SCALE";
const SCALE_RANGE = { min: 0.01, max: 1 } as const;

/**
 * The share of each `rate(...)` period the local host waits: 1 (the default) keeps serverless.yml's
 * periods, 0.05 runs `rate(1 minute)` every 3 s. Anything but a plain number from 0.01 to 1 is refused,
 * so a typo never turns into a schedule that runs hundreds of times a second or never.
 */
export function scheduleScale(env: Record<string, string | undefined> = process.env): number {
  const text = env[SCHEDULE_SCALE_VARIABLE]?.trim();
  if (text === undefined || text === "") return 1;
  const scale = /^\d*\.?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(scale >= SCALE_RANGE.min && scale <= SCALE_RANGE.max)) {
    throw new ScheduleEventError(
      `${SCHEDULE_SCALE_VARIABLE} must be a number from ${SCALE_RANGE.min} to ${SCALE_RANGE.max}, the share of each rate(...) period to wait (0.05 runs rate(1 minute) every 3 s); got "${text}"`,
    );
  }
  return scale;
}

/** A period of serverless.yml scaled by `scheduleScale` (whole milliseconds). */
export function scaledPeriodMs(periodMs: number, scale: number): number {
  return Math.round(periodMs * scale);
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

/**
 * The event a schedule rule delivers (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html):
 * `time` is the time the run was scheduled for, `id` is unique per delivery.
 */
export function scheduledEvent(options: {
  id: string;
  time: Date;
  region?: string;
}): Record<string, unknown> {
  return {
    version: "0",
    id: options.id,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "000000000000",
    time: options.time.toISOString(),
    region: options.region ?? "local",
    resources: [],
    detail: {},
  };
}
