import { describe, expect, it } from "vitest";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";

describe("backoffDelay", () => {
  it("doubles the initial delay on each attempt and stops at the cap", () => {
    // Prepare
    const policy = { initialMs: 100, maxMs: 1_000 };
    // Act
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, policy));
    // Assess
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("stays at the cap after very many attempts instead of overflowing", () => {
    expect(backoffDelay(5_000, { initialMs: 500, maxMs: 30_000 })).toBe(30_000);
  });

  it("spreads an equal-jitter delay between half the capped delay and all of it", () => {
    // Prepare
    const policy = { initialMs: 500, maxMs: 15_000, jitter: "equal" } as const;
    // Act / Assess
    expect(backoffDelay(3, policy, () => 0)).toBe(1_000);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(1_500);
    expect(backoffDelay(3, policy, () => 0.999_999)).toBeCloseTo(2_000, 2);
    expect(backoffDelay(10, policy, () => 0)).toBe(7_500);
  });

  it("spreads a centred delay between half and one and a half times the capped delay", () => {
    // Prepare
    const policy = { initialMs: 20, maxMs: 2_000, jitter: "centred" } as const;
    // Act / Assess
    expect(backoffDelay(1, policy, () => 0)).toBe(10);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(40);
    expect(backoffDelay(9, policy, () => 0)).toBe(1_000);
    expect(backoffDelay(9, policy, () => 0.999_999)).toBeCloseTo(3_000, 2);
  });
});

describe("sleep", () => {
  it("resolves after the pause", async () => {
    const started = performance.now();
    await sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("rejects with the signal's reason as soon as the signal aborts", async () => {
    // Prepare
    const stop = new AbortController();
    const started = performance.now();
    // Act
    const pause = sleep(60_000, stop.signal);
    stop.abort(new Error("stopping"));
    // Assess
    await expect(pause).rejects.toThrow("stopping");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("rejects at once when the signal has already aborted", async () => {
    const stop = new AbortController();
    stop.abort(new Error("already stopped"));
    await expect(sleep(60_000, stop.signal)).rejects.toThrow("already stopped");
  });
});
