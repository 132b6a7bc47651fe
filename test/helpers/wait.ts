/**
 * The one way tests wait: for a condition, with a deadline. `condition` is polled until it returns
 * something other than `false`, `undefined` or `null`, and that value is returned; when `timeoutMs`
 * passes first, the test fails naming `what` it waited for. A test that must show something does NOT
 * happen waits for a positive marker that time passed (the next tick ran, a later record arrived),
 * never for a bare sleep.
 */

export interface WaitOptions {
  /** Time between two polls (default 25 ms). */
  pollMs?: number;
  /** A condition that throws is "not yet" (a server still starting, a file not written yet). */
  retryOnError?: boolean;
}

export async function waitUntil<T>(
  condition: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  what: string,
  timeoutMs = 30_000,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== false && value !== undefined && value !== null) return value;
    } catch (error) {
      if (!options.retryOnError) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 25));
  }
}
