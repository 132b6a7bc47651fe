/** Time one shutdown step may take before the stop goes on without it. */
export const STOP_STEP_MS = 10_000;

/**
 * Runs one step of `npm start`'s stop: resolves when it is done, when it failed (said on stderr), or after
 * `limitMs` (said too), so no part can keep the process and its ports alive.
 */
export async function boundedStep(step: () => Promise<void>, limitMs = STOP_STEP_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), limitMs);
  });
  try {
    const outcome = await Promise.race([step().then(() => "done" as const), late]);
    if (outcome === "late")
      console.error(`  a part did not stop within ${limitMs / 1000} s; going on without it`);
  } catch (error) {
    console.error(`  a part failed to stop: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}
