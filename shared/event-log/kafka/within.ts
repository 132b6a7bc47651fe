export const TIMED_OUT = Symbol("timed out");

/** How long closing waits for one client to disconnect. */
export const CLOSE_TIMEOUT_MS = 5_000;

/** Resolves with the promise's value, or TIMED_OUT after `ms`; the promise keeps running either way. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for the given disconnects, each for at most CLOSE_TIMEOUT_MS: a client still connecting to a
 * broker that does not answer must not hold closing up. */
export async function settleDisconnects(pending: (Promise<void> | undefined)[]): Promise<void> {
  await Promise.all(pending.map((p) => (p ? within(p, CLOSE_TIMEOUT_MS).catch(() => {}) : undefined)));
}
