import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type CliIo, main } from "#mars/cli.ts";
import { MarsOptionsError } from "#mars/errors.ts";
import { parseMarsOptions } from "#mars/options.ts";
import { formatProgress, ProgressReporter } from "#mars/progress.ts";
import { MARS_DEFAULTS, type MarsOptions, runMars } from "#mars/run.ts";
import { validateV1, validateV2 } from "#shared/events/index.ts";
import { closedUrl, type FakeVenus, startFakeVenus, TEST_API_KEY } from "#test/helpers/mars-server.ts";

const START = Date.UTC(2024, 4, 1, 9, 0);

let venus: FakeVenus | undefined;
let folder: string;

beforeEach(() => {
  folder = mkdtempSync(path.join(tmpdir(), "mars-run-"));
});

afterEach(async () => {
  await venus?.close();
  venus = undefined;
  rmSync(folder, { recursive: true, force: true });
});

function options(overrides: Partial<MarsOptions>): MarsOptions {
  return {
    ...MARS_DEFAULTS,
    sessions: 4,
    couriers: 2,
    seed: 11,
    speed: "max",
    startMs: START,
    hours: 3,
    updateIntervalS: 15,
    apiKey: TEST_API_KEY,
    progress: "off",
    backoffBaseMs: 10,
    ...overrides,
  };
}

function capture(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    io: {
      env: {},
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t), isTTY: false },
    },
    stdout: () => out,
    stderr: () => err,
  };
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
}

describe("runMars", () => {
  it("sends a whole v2 simulation and exits 0 once every event is acknowledged", async () => {
    // Prepare
    venus = await startFakeVenus({ protocol: "v2" });

    // Act
    const summary = await runMars(options({ url: venus.url }), { stderr: { write: () => true } });

    // Assess
    expect(summary.exitCode).toBe(0);
    expect(summary.sessionsDone).toBe(4);
    expect(summary.acknowledged).toBe(summary.unitsOut);
    expect(summary.unitsOut).toBeGreaterThan(100);
    expect(summary.line).toMatch(
      /^Mars: done in .* 4 of 4 sessions, .* v2 events sent .* acknowledged, 0 rejected, 0 reconnects/,
    );
  });

  it("sends v1 with chaos and exits 0 when every frame got a reply, accepted or not", async () => {
    // Prepare
    venus = await startFakeVenus({ protocol: "v1" });

    // Act
    const summary = await runMars(
      options({ url: venus.url, protocol: "v1", duplicates: 0.1, reorder: 0.1, malformed: 0.1 }),
      { stderr: { write: () => true } },
    );

    // Assess
    expect(summary.exitCode).toBe(0);
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.acknowledged + summary.rejected).toBe(summary.unitsOut);
    expect(venus.dataFrames()).toHaveLength(summary.unitsOut);
  });

  it("never sends an event whose time is later than the wall clock", async () => {
    // Prepare
    venus = await startFakeVenus({ protocol: "v2" });

    // Act: default start (in the past, so the run ends by now) at full speed.
    const summary = await runMars(options({ url: venus.url, startMs: undefined, hours: 1 }), {
      stderr: { write: () => true },
    });

    // Assess
    const late = venus.frames.flatMap((frame) =>
      (JSON.parse(frame.text).events as { occurred_at: string }[]).filter(
        (e) => Date.parse(e.occurred_at) > frame.receivedAtMs,
      ),
    );
    expect(summary.exitCode).toBe(0);
    expect(late).toEqual([]);
  });

  it("writes the stream to a file without sending, identically for the same seed", async () => {
    // Prepare
    const first = path.join(folder, "first.ndjson");
    const second = path.join(folder, "second.ndjson");

    // Act
    const summary = await runMars(options({ send: false, out: first }));
    await runMars(options({ send: false, out: second }));

    // Assess
    expect(summary.exitCode).toBe(0);
    expect(lines(first)).toHaveLength(summary.unitsOut);
    expect(lines(first).every((l) => validateV2(JSON.parse(l)).ok)).toBe(true);
    expect(readFileSync(second, "utf8")).toBe(readFileSync(first, "utf8"));
  });

  it("writes v1 messages to the file when the protocol is v1", async () => {
    // Prepare
    const file = path.join(folder, "v1.ndjson");

    // Act
    await runMars(options({ send: false, out: file, protocol: "v1" }));

    // Assess
    const messages = lines(file).map((l) => JSON.parse(l));
    expect(messages.length).toBeGreaterThan(10);
    expect(messages.every((m) => Object.keys(m).length === 12 && validateV1(m).ok)).toBe(true);
  });

  it("paces events by simulated time at a finite speed", async () => {
    // Prepare: one simulated hour at 7200x takes about half a second.
    const file = path.join(folder, "paced.ndjson");
    const startMs = Date.now() - 4 * 3_600_000;
    const began = Date.now();

    // Act
    const summary = await runMars(
      options({ send: false, out: file, speed: 7200, startMs, hours: 1, sessions: 2, updateIntervalS: 60 }),
    );

    // Assess
    const events = lines(file).map((l) => Date.parse(JSON.parse(l).occurred_at));
    const simulatedSpanMs = Math.max(...events) - startMs;
    expect(summary.exitCode).toBe(0);
    expect(Date.now() - began).toBeGreaterThanOrEqual(simulatedSpanMs / 7200 - 50);
  });

  it("paces sending at the target rate", async () => {
    // Prepare
    const file = path.join(folder, "rate.ndjson");
    const began = Date.now();

    // Act
    const summary = await runMars(
      options({ send: false, out: file, rate: 2000, sessions: 2, updateIntervalS: 10 }),
    );

    // Assess
    const elapsed = Date.now() - began;
    expect(summary.unitsOut).toBeGreaterThan(200);
    expect(elapsed).toBeGreaterThanOrEqual((summary.unitsOut / 2000) * 1000 - 300);
  });
});

describe("Mars event fixtures", () => {
  it.each(["v1", "v2"] as const)(
    "regenerates events/fixtures/athens-seed42-%s.ndjson byte for byte",
    async (protocol) => {
      // Prepare: the command in docs/mars.md ("Event fixtures").
      const file = path.join(folder, `fixture-${protocol}.ndjson`);
      const committed = path.join(process.cwd(), "events", "fixtures", `athens-seed42-${protocol}.ndjson`);

      // Act
      const code = await main(
        [
          ...[
            "--seed",
            "42",
            "--start",
            "2024-05-01T09:00:00Z",
            "--hours",
            "2",
            "--sessions",
            "6",
            "--couriers",
            "3",
          ],
          ...[
            "--update-interval",
            "40",
            "--cancel-rate",
            "0.25",
            "--fail-rate",
            "0.2",
            "--protocol",
            protocol,
          ],
          ...["--speed", "max", "--no-send", "--out", file, "--progress", "off"],
        ],
        capture().io,
      );

      // Assess: a difference means the simulation changed; regenerate the fixtures on purpose (docs/mars.md).
      expect(code).toBe(0);
      expect(readFileSync(file, "utf8")).toBe(readFileSync(committed, "utf8"));
    },
  );
});

describe("Mars command line", () => {
  it("rejects invalid options with exit code 2, naming each one", async () => {
    // Prepare
    const { io, stderr } = capture();

    // Act
    const code = await main(
      ["--sessions", "0", "--protocol", "v3", "--batch-size", "501", "--url", "http://x"],
      io,
    );

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toContain("--sessions must be a whole number from 1 to 10,000,000");
    expect(stderr()).toContain("--protocol must be v1 or v2");
    expect(stderr()).toContain("--batch-size must be a whole number from 1 to 500");
    expect(stderr()).toContain("--url must be a ws:// or wss:// URL");
  });

  it("rejects an unknown flag with exit code 2", async () => {
    // Prepare
    const { io, stderr } = capture();

    // Act
    const code = await main(["--sesions", "5"], io);

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toMatch(/Unknown argument: sesions/);
  });

  it("prints the options with --help and exits 0", async () => {
    // Prepare
    const { io, stdout } = capture();

    // Act
    const code = await main(["--help"], io);

    // Assess
    expect(code).toBe(0);
    for (const flag of [
      "--sessions",
      "--speed",
      "--protocol",
      "--batch-size",
      "--rate",
      "--out",
      "--no-send",
      "--malformed",
    ]) {
      expect(stdout()).toContain(flag.replace("--no-send", "--send"));
    }
  });

  it("honours the original environment variables, and a flag wins over them", () => {
    // Act
    const fromEnv = parseMarsOptions({
      sessions: "7",
      updateInterval: "2",
      url: "ws://venus:8000/ws",
      apiKey: "k",
    });
    const both = parseMarsOptions({ sessions: "9" });

    // Assess
    expect([fromEnv.sessions, fromEnv.updateIntervalS, fromEnv.url, fromEnv.apiKey]).toEqual([
      7,
      2,
      "ws://venus:8000/ws",
      "k",
    ]);
    expect(both.sessions).toBe(9);
  });

  it("reads TOTAL_SESSIONS and UPDATE_INTERVAL from the environment", async () => {
    // Prepare
    const file = path.join(folder, "env.ndjson");
    const { io, stderr } = capture();
    io.env = { TOTAL_SESSIONS: "2", UPDATE_INTERVAL: "30" };

    // Act
    const code = await main(
      ["--no-send", "--out", file, "--speed", "max", "--seed", "3", "--progress", "off"],
      io,
    );

    // Assess
    const started = lines(file).filter((l) => l.includes('"session_started"'));
    expect(code).toBe(0);
    expect(started).toHaveLength(2);
    expect(stderr()).toMatch(/Mars: done in .* 2 of 2 sessions/);
  });

  it("names the environment variable when its value is wrong", async () => {
    // Prepare
    const { io, stderr } = capture();
    io.env = { TOTAL_SESSIONS: "many" };

    // Act
    const code = await main([], io);

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toContain('TOTAL_SESSIONS must be a whole number from 1 to 10,000,000 (got "many")');
  });

  it("exits 1 with the give-up message when the server cannot be reached", async () => {
    // Prepare
    const url = await closedUrl();
    const { io, stderr } = capture();

    // Act
    const code = await main(
      ["--url", url, "--max-reconnects", "1", "--sessions", "1", "--speed", "max", "--progress", "off"],
      io,
    );

    // Assess
    expect(code).toBe(1);
    expect(stderr()).toContain(`Mars: gave up after 1 reconnect attempts to ${url}: `);
  });

  it("exits 1 and does not retry when the server refuses the API key", async () => {
    // Prepare
    venus = await startFakeVenus({ protocol: "v2" });
    const { io, stderr } = capture();

    // Act
    const code = await main(
      ["--url", venus.url, "--api-key", "wrong", "--sessions", "1", "--speed", "max", "--progress", "off"],
      io,
    );

    // Assess
    expect(code).toBe(1);
    expect(stderr()).toMatch(/refused the API key \(HTTP 401/);
    expect(venus.upgradeAttempts).toBe(1);
  });

  it("paces by rate alone when a rate is given without a speed", () => {
    // Act
    const withRate = parseMarsOptions({ rate: "5000" });
    const withBoth = parseMarsOptions({ rate: "5000", speed: "60" });

    // Assess
    expect(withRate.speed).toBe("max");
    expect(withBoth.speed).toBe(60);
    expect(parseMarsOptions({}).speed).toBe(1);
  });

  it("turns any option text into typed options or an options error, never a crash", () => {
    // Prepare
    const keys = [
      "sessions",
      "speed",
      "start",
      "url",
      "protocol",
      "malformed",
      "batchSize",
      "rate",
      "seed",
      "send",
    ] as const;
    const raw = fc.dictionary(
      fc.constantFrom(...keys),
      fc.oneof(fc.string(), fc.boolean(), fc.constantFrom("1", "max", "0.5", "-1", "1e309")),
    );

    fc.assert(
      fc.property(raw, (values) => {
        // Act
        let outcome: unknown;
        try {
          outcome = parseMarsOptions(values);
        } catch (error) {
          outcome = error;
        }

        // Assess
        expect(
          outcome instanceof MarsOptionsError ||
            (typeof outcome === "object" && outcome !== null && "sessions" in outcome),
        ).toBe(true);
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it("refuses a start time in the future", () => {
    // Act & Assess
    expect(() => parseMarsOptions({ start: "2999-01-01T00:00:00Z" })).toThrow(
      /--start must not be in the future/,
    );
  });
});

describe("Mars progress", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("redraws one line on a terminal and prints plain lines every 5 s elsewhere", () => {
    // Prepare
    vi.useFakeTimers();
    const snapshot = {
      sessionsActive: 3,
      sessionsDone: 10,
      sessionsTotal: 20,
      unitsOut: 1234,
      sending: true,
      acknowledged: 1200,
      rejected: 4,
      reconnects: 1,
      simulatedMs: START,
    };
    let tty = "";
    let plain = "";
    const onTerminal = new ProgressReporter(
      { write: (t: string) => (tty += t), isTTY: true },
      "tty",
      () => snapshot,
    );
    const inLog = new ProgressReporter({ write: (t: string) => (plain += t) }, "plain", () => snapshot);

    // Act
    onTerminal.start();
    inLog.start();
    vi.advanceTimersByTime(10_100);
    onTerminal.stop();
    inLog.stop();

    // Assess
    expect(tty.startsWith("\r\x1b[2K")).toBe(true);
    expect(tty).not.toContain("\n");
    expect(plain.split("\n").filter(Boolean)).toHaveLength(2);
    expect(formatProgress(snapshot, 250)).toBe(
      "Mars: sessions 3 active, 10/20 done | 1,234 events (250/s) | acked 1,200 | rejected 4 | reconnects 1 | sim 2024-05-01 09:00Z",
    );
  });
});
