import { afterEach, describe, expect, it, vi } from "vitest";
import { boundedStep } from "#host/shutdown.ts";

describe("a step of npm start's stop", () => {
  afterEach(() => vi.restoreAllMocks());

  it("waits for a step that finishes", async () => {
    // Prepare
    let done = false;
    const step = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      done = true;
    };

    // Act
    await boundedStep(step, 1_000);

    // Assess
    expect(done).toBe(true);
  });

  it("goes on, and says so, when a step fails", async () => {
    // Prepare
    const said = vi.spyOn(console, "error").mockImplementation(() => {});

    // Act
    await boundedStep(async () => {
      throw new Error("broker unreachable");
    }, 1_000);

    // Assess
    expect(said).toHaveBeenCalledWith("  a part failed to stop: broker unreachable");
  });

  it("goes on after its limit when a step never finishes", async () => {
    // Prepare: a step stuck for ever (a consumer retrying an unreachable broker)
    const said = vi.spyOn(console, "error").mockImplementation(() => {});

    // Act
    await boundedStep(() => new Promise<void>(() => {}), 50);

    // Assess
    expect(said).toHaveBeenCalledWith("  a part did not stop within 0.05 s; going on without it");
  });
});
