import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { freePort, spawnProcess } from "#test/helpers/processes.ts";

/**
 * `npm start` runs Uranus on its serverless.yml schedule (rate(1 minute)) in the same process as Jupiter,
 * on the one embedded ClickHouse client they share: the first run at start, the next a minute later.
 */
describe("npm start with Uranus", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-uranus-start-"));

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refreshes the gold tables at start and every minute from what Jupiter wrote", async () => {
    // Prepare
    const port = await freePort();
    const env = { PACKETPULSE_DATA_DIR: dataDir, VENUS_PORT: String(port), KAFKA_BOOTSTRAP_SERVERS: "" };

    // Act: Mars sends 15 sessions at full speed; the second gold run comes a minute after the first.
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
    await platform.waitFor(/gold: 10\/10 models[^\n]*\n[\s\S]*gold: 10\/10 models/, 150_000);
    const code = await platform.stop("SIGTERM");
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
    expect(runs).toEqual([{ runs: "2", ok: "20", models: "20" }]);
  }, 240_000);
});
