import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { freePort, spawnProcess } from "#test/helpers/processes.ts";

/** `npm start`, as a user runs it: the embedded platform in one process, with a data folder that persists. */
describe("npm start on the embedded default", () => {
  // Outside the repository on purpose: the data folder may be anywhere.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-start-"));

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const arrivedCount = (output: string): number => {
    const counts = [...output.matchAll(/sessions: ([\d,]+) events/g)].map((m) =>
      Number(m[1]!.replaceAll(",", "")),
    );
    return counts.length > 0 ? counts[counts.length - 1]! : -1;
  };

  it("runs Venus and Mars with --simulate, shows what arrived, and continues from its data after a restart", async () => {
    // Prepare
    const port = await freePort();
    const env = { PACKETPULSE_DATA_DIR: dataDir, VENUS_PORT: String(port), KAFKA_BOOTSTRAP_SERVERS: "" };

    // Act: first run with the simulator
    const first = spawnProcess(
      "node",
      [
        "--import",
        "tsx",
        "host/start.ts",
        "--simulate",
        "--sessions",
        "15",
        "--couriers",
        "5",
        "--speed",
        "max",
      ],
      env,
    );
    await first.waitFor(/sessions: [1-9][\d,]* events/, 60_000);
    // Jupiter reports a processed batch once silver rows are in.
    await first.waitFor(/jupiter ← sessions: lag \d+, [\d.]+ records\/s, [1-9]\d* processed/, 60_000);
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    const firstCode = await first.stop("SIGTERM");
    const firstOutput = first.output();

    // The silver tables, read after the process let go of the embedded ClickHouse.
    const clickhouse = await openClickHouse(loadConfig({ PACKETPULSE_DATA_DIR: dataDir }).clickhouse);
    const silver = await (
      await clickhouse.query({
        query: "SELECT count() AS sessions FROM sessions_current",
        format: "JSONEachRow",
      })
    ).json<{ sessions: string }>();
    await clickhouse.close();

    // Act: second run on the same data folder, without the simulator
    const second = spawnProcess("node", ["--import", "tsx", "host/start.ts"], env);
    await second.waitFor(/sessions: [\d,]+ events/, 60_000);
    const secondCode = await second.stop("SIGTERM");

    // Assess
    expect(firstOutput).toContain(`Venus  ws://127.0.0.1:${port}/ws`);
    expect(firstOutput).toContain("Mars   simulating 15 sessions with 5 couriers");
    expect(health).toMatchObject({ status: "ok", eventLog: { backend: "embedded", ok: true } });
    expect(firstCode).toBe(0);
    expect(firstOutput).toContain("Stopped. Data is kept");
    const stored = arrivedCount(firstOutput);
    expect(stored).toBeGreaterThan(0);
    expect(arrivedCount(second.output())).toBe(stored);
    expect(secondCode).toBe(0);
    expect(Number(silver[0]?.sessions)).toBeGreaterThan(0);
  }, 180_000);

  it("refuses to start on a wrong setting, naming the variable and what it expects", async () => {
    // Act
    const run = spawnProcess("node", ["--import", "tsx", "host/start.ts"], {
      PACKETPULSE_DATA_DIR: dataDir,
      KAFKA_BOOTSTRAP_SERVERS: "",
      KAFKA_PARTITIONS: "three",
    });
    const code = await run.exited;

    // Assess
    expect(code).toBe(1);
    expect(run.output()).toContain("PacketPulse cannot start.");
    expect(run.output()).toContain('KAFKA_PARTITIONS must be a number (got "three")');
  });
});
