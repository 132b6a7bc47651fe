import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultStartMs, RateLimiter, SESSION_TAIL_MS, SimClock } from "#mars/clock.ts";

const NOW = Date.UTC(2024, 4, 1, 12, 0);

describe("Mars clock", () => {
  it("never releases an event before its own time", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        fc.integer({ min: 0, max: 2 * 86_400_000 }),
        fc.oneof(fc.constant("max" as const), fc.double({ min: 0.01, max: 10_000, noNaN: true })),
        (startOffset, eventOffset, speed) => {
          // Prepare
          const simStart = NOW + startOffset;
          const clock = new SimClock(simStart, speed, NOW);

          // Act
          const release = clock.releaseAt(simStart + eventOffset);

          // Assess
          expect(release).toBeGreaterThanOrEqual(simStart + eventOffset);
        },
      ),
    );
  });

  it("plays one simulated minute per real second at speed 60", () => {
    // Prepare
    const simStart = NOW - 3_600_000;
    const clock = new SimClock(simStart, 60, NOW);

    // Act
    const release = clock.releaseAt(simStart + 10 * 60_000);

    // Assess
    expect(release - NOW).toBe(10_000);
  });

  it("starts in the past when faster than real time, so the whole run ends by now", () => {
    // Prepare
    const windowMs = 24 * 3_600_000;

    // Act
    const fast = defaultStartMs(NOW, 60, windowMs);
    const max = defaultStartMs(NOW, "max", windowMs);
    const realTime = defaultStartMs(NOW, 1, windowMs);

    // Assess
    expect(fast + windowMs + SESSION_TAIL_MS).toBeLessThanOrEqual(NOW);
    expect(max).toBe(fast);
    expect(realTime).toBe(NOW);
  });

  it("paces reservations at the target rate", () => {
    // Prepare
    const limiter = new RateLimiter(1000);

    // Act
    const slots = Array.from({ length: 5 }, () => limiter.reserve(NOW));

    // Assess
    expect(slots).toEqual([NOW, NOW + 1, NOW + 2, NOW + 3, NOW + 4]);
  });
});
