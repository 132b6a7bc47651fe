/**
 * The one way tests wait: for a condition, with a deadline. `condition` is polled until it returns
 * something other than `false`, `undefined` or `null`, and that value is returned; when `timeoutMs`
 * passes first, the test fails naming `what` it waited for. A test that must show something does NOT
 * happen waits for a positive marker that time passed (the next tick ran, a later record arrived),
 * never for a bare sleep.
 */
export async function waitUntil<T>(
  condition: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  what: string,
  timeoutMs = 30_000,
  pollMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
