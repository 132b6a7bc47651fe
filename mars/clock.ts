/**
 * Simulated time against real time. The simulation itself only knows event times; this decides when each
 * event may leave, so that a run at `--speed 60` plays one simulated minute per real second, `--speed max`
 * as fast as possible, and no event is ever sent with a time later than the wall clock (the ingestion API
 * rejects events more than ten minutes in the future, and a device cannot report what has not happened).
 */

export type Speed = number | "max";

/** Simulated time after the order window during which the last sessions finish (generous). */
export const SESSION_TAIL_MS = 2 * 3_600_000;

/**
 * Where the simulated day starts when `--start` is not given: now in real time; in the past when the
 * simulation runs faster than real time, far enough back that the whole run ends by now.
 */
export function defaultStartMs(nowMs: number, speed: Speed, windowMs: number): number {
  if (speed !== "max" && speed <= 1) return nowMs;
  return nowMs - (windowMs + SESSION_TAIL_MS);
}

export class SimClock {
  readonly simStartMs: number;
  readonly speed: Speed;
  readonly realStartMs: number;

  constructor(simStartMs: number, speed: Speed, realStartMs: number) {
    this.simStartMs = simStartMs;
    this.speed = speed;
    this.realStartMs = realStartMs;
  }

  /**
   * The wall-clock instant (ms) from which an event that happened at `simMs` may be sent: when the
   * simulated clock reaches it, and never before the event time itself.
   */
  releaseAt(simMs: number): number {
    const paced =
      this.speed === "max" ? this.realStartMs : this.realStartMs + (simMs - this.simStartMs) / this.speed;
    return Math.max(paced, simMs);
  }

  /** The simulated time shown to people at a wall-clock instant. */
  simulatedAt(realMs: number): number {
    if (this.speed === "max") return Number.NaN;
    return this.simStartMs + (realMs - this.realStartMs) * this.speed;
  }
}

/**
 * Paces sends at a target rate (events per second), anchored to a schedule so that short stalls are
 * caught up, but never bursting more than `burstMs` worth of events.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #burstMs: number;
  #nextMs: number | undefined;

  constructor(eventsPerSecond: number, burstMs = 250) {
    this.#intervalMs = 1000 / eventsPerSecond;
    this.#burstMs = burstMs;
  }

  /** Reserves a slot for `count` events and returns the wall-clock instant it starts at. */
  reserve(nowMs: number, count = 1): number {
    const next = Math.max(this.#nextMs ?? nowMs, nowMs - this.#burstMs);
    this.#nextMs = next + this.#intervalMs * count;
    return next;
  }
}
