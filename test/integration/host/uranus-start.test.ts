import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { freePort, spawnProcess } from "#test/helpers/processes.ts";

/**
 * `npm start` runs Uranus on its serverless.yml schedule (rate(1 minute)) in the same process as Jupiter,
 * on the one embedded ClickHouse client they share: the first run at start, the next a period later.
 * PACKETPULSE_SCHEDULE_SCALE=0.05 shortens the minute to 3 s.
 */
describe("npm start with Uranus", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-uranus-start-"));

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refreshes the gold tables at start and every minute from what Jupiter wrote", async () => {
    // Prepare
    const port = await freePort();
    const env = {
      PACKETPULSE_DATA_DIR: dataDir,
      VENUS_PORT: String(port),
      KAFKA_BOOTSTRAP_SERVERS: "",
      PACKETPULSE_SCHEDULE_SCALE: "0.05",
    };

    // Act: Mars sends 15 sessions at full speed; gold runs at start and every (shortened) minute. Once
    // Mars is done and Jupiter has no lag, two more runs: the second began after silver had everything.
    const platform = spawnProcess(
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
    await platform.waitFor("uranus refreshing the gold tables every 1 minute", 60_000);
    await platform.waitFor(/uranus gold: 10\/10 models/, 60_000);
    await platform.waitFor(
      /15 of 15 sessions[\s\S]*jupiter ← sessions: lag 0,[\s\S]*gold: 10\/10 models[\s\S]*gold: 10\/10 models/,
      120_000,
    );
    const code = await platform.stop("SIGTERM");
    const goldRuns = platform.output().match(/gold: 10\/10 models/g)?.length ?? 0;
    const clickhouse = await openClickHouse(loadConfig({ PACKETPULSE_DATA_DIR: dataDir }).clickhouse);
    const query = async (sql: string) =>
      (await clickhouse.query({ query: sql, format: "JSONEachRow" })).json();
    const counts = await query(
      "SELECT (SELECT count() FROM sessions_current) AS silver, (SELECT count() FROM session_summary) AS gold",
    );
    const runs = await query(
      "SELECT uniqExact(run_id) AS runs, countIf(outcome = 'success') AS ok, count() AS models FROM uranus_runs",
    );
    await clickhouse.close();

    // Assess
    expect(code).toBe(0);
    expect(counts).toEqual([{ silver: "15", gold: "15" }]);
    // Every run it printed is recorded, with every model: the one at start and at least one a period later.
    expect(goldRuns).toBeGreaterThanOrEqual(2);
    expect(runs).toEqual([
      { runs: String(goldRuns), ok: String(goldRuns * 10), models: String(goldRuns * 10) },
    ]);
  }, 240_000);
});
