/**
 * Wakes this process's consumers the moment an append to one of their topics commits, so same-process
 * delivery does not wait for the next poll. Appends by other processes are still found by polling.
 */
export class AppendSignal {
  private readonly waiters = new Set<{ topicIds: ReadonlySet<number>; wake: () => void }>();

  notify(topicIds: Iterable<number>): void {
    const appended = new Set(topicIds);
    for (const waiter of this.waiters) {
      for (const topicId of waiter.topicIds) {
        if (appended.has(topicId)) {
          waiter.wake();
          break;
        }
      }
    }
  }

  /**
   * Resolves on the first append to one of `topicIds`, after `timeoutMs`, or when `interrupt` is called
   * (a stopping consumer), whichever comes first.
   */
  wait(topicIds: ReadonlySet<number>, timeoutMs: number): { settled: Promise<void>; interrupt: () => void } {
    let interrupt = () => {};
    const settled = new Promise<void>((resolve) => {
      const waiter = {
        topicIds,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      this.waiters.add(waiter);
      interrupt = waiter.wake;
    });
    return { settled, interrupt };
  }
}
