/**
 * How long to wait before retry number `attempt` (1 for the first retry): the initial delay doubled on
 * each further attempt, capped at `maxMs`, then spread by the policy's jitter so that many clients that
 * failed together do not retry together.
 */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** The longest delay, whatever the attempt. */
  maxMs: number;
  /**
   * - `none` (default): exactly the capped delay (a single retrying loop, where spreading buys nothing);
   * - `equal`: between half the capped delay and all of it ("equal jitter": never collapses to zero);
   * - `centred`: between half and one and a half times the capped delay.
   */
  jitter?: "none" | "equal" | "centred";
}

/** The exponent stops growing here, so a very long run of failures never overflows to Infinity. */
const MAX_DOUBLINGS = 30;

/** Milliseconds to wait before retry `attempt` (≥ 1); `random` returns a number in [0, 1). */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const capped = Math.min(
    policy.maxMs,
    policy.initialMs * 2 ** Math.min(Math.max(attempt, 1) - 1, MAX_DOUBLINGS),
  );
  switch (policy.jitter ?? "none") {
    case "none":
      return capped;
    case "equal":
      return capped / 2 + (capped / 2) * random();
    case "centred":
      return capped * (0.5 + random());
  }
}
