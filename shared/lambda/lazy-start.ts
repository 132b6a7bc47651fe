/**
 * A resource a Lambda container opens on its first invocation and keeps for its life (a store, an event
 * log). A start that fails is not kept: the next invocation tries again, so one broker hiccup at a cold
 * start does not break the container until AWS recycles it. Concurrent callers share one attempt.
 */
export function lazyStart<T>(open: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  return () => {
    started ??= open().catch((error: unknown) => {
      started = undefined;
      throw error;
    });
    return started;
  };
}
