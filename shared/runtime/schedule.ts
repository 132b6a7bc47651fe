import { PacketPulseError } from "#shared/errors.ts";

/** `schedule` events of serverless.yml, as `npm start` runs them (EventBridge rules on AWS). */

export class ScheduleEventError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ScheduleEventError";
  }
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
