import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AS_OF, goldFixtureBatches } from "#test/fixtures/uranus-gold-sessions.ts";
import { openGoldTestStore } from "#test/helpers/uranus-gold.ts";

/**
 * `npm run uranus` as a user runs it, in its own process on a data folder this test filled through Jupiter
 * (and closed: embedded chDB binds a folder to one process at a time).
 */

const run = promisify(execFile);
const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-uranus-cli-"));

async function uranus(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("npm", ["run", "-s", "uranus", "--", ...args], {
      env: { ...process.env, PACKETPULSE_DATA_DIR: dataDir, CLICKHOUSE_URL: "", FORCE_COLOR: "0" },
      timeout: 120_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: (failed.stdout ?? "") + (failed.stderr ?? "") };
  }
}

beforeAll(async () => {
  const store = await openGoldTestStore({ dataDir });
  await store.feed(goldFixtureBatches());
  await store.close();
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm run uranus", () => {
  it("lists the models in dependency order", async () => {
    // Act
    const { code, output } = await uranus("--list");

    // Assess
    expect(code).toBe(0);
    expect(output.trim().split("\n")).toEqual([
      "session_summary (incremental)",
      "active_sessions (rebuild) ← session_summary",
      "courier_scorecards (rebuild) ← session_summary",
      "delay_service_time (rebuild) ← session_summary",
      "delivery_duration_buckets (rebuild) ← session_summary",
      "demand_heatmap (rebuild) ← session_summary",
      "fleet_summary (rebuild) ← session_summary, active_sessions",
      "hourly_demand (rebuild) ← session_summary",
      "kpi_aggregates (rebuild) ← session_summary",
      "pipeline_freshness (rebuild) ← session_summary",
    ]);
  }, 120_000);

  it("runs every model with --full-refresh, one progress line per model", async () => {
    // Act
    const { code, output } = await uranus("--full-refresh", "--as-of", AS_OF);

    // Assess
    expect(code).toBe(0);
    expect(output).toContain(`Uranus: full run as of ${AS_OF}`);
    expect(output).toContain("[1/10] session_summary (full) …");
    expect(output).toMatch(/\[1\/10\] session_summary: success — 8 rows \(8 computed\) in \d+\.\d\d s/);
    expect(output).toMatch(/\[9\/10\] kpi_aggregates: success — 5 rows/);
    expect(output).toMatch(
      /Done: 10\/10 models in \d+\.\d\d s \(run [0-9a-f-]{36}, recorded in uranus_runs\)/,
    );
  }, 120_000);

  it("runs one model with --model, and backfills a day range with progress per day", async () => {
    // Act
    const one = await uranus("--model", "kpi_aggregates", "--as-of", AS_OF);
    const backfill = await uranus("--from", "2024-05-05", "--to", "2024-05-06", "--model", "session_summary");

    // Assess
    expect(one.code).toBe(0);
    expect(one.output).toMatch(/\[1\/1\] kpi_aggregates: success — 5 rows/);
    expect(backfill.code).toBe(0);
    expect(backfill.output).toContain("over 2024-05-05T00:00:00.000Z – 2024-05-07T00:00:00.000Z");
    expect(backfill.output).toContain("session_summary: day 1/2 (2024-05-05) 3 rows");
    expect(backfill.output).toContain("session_summary: day 2/2 (2024-05-06) 5 rows");
    expect(backfill.output).toMatch(/\[1\/1\] session_summary: success — 8 rows \(8 computed\)/);
  }, 120_000);

  it("refuses wrong options with a message and exit code 2", async () => {
    // Act
    const unknown = await uranus("--model", "sessions_gold");
    const halfRange = await uranus("--from", "2024-05-05");
    const badDate = await uranus("--from", "May 5th", "--to", "2024-05-06");

    // Assess
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain(
      "--model sessions_gold: no such model (session_summary, active_sessions",
    );
    expect(halfRange.code).toBe(2);
    expect(halfRange.output).toContain("--from and --to go together");
    expect(badDate.code).toBe(2);
    expect(badDate.output).toContain("--from must be a date (2024-05-01) or an ISO time (got May 5th)");
  }, 120_000);

  it("has recorded every model run in uranus_runs", async () => {
    // Act
    const store = await openGoldTestStore({ dataDir });
    const runs = await store.rows(
      "SELECT mode, count() AS models, countIf(outcome = 'success') AS ok FROM uranus_runs GROUP BY mode ORDER BY mode",
    );
    await store.close();

    // Assess: 10 (full refresh) + 1 (kpi_aggregates) rebuilds/fulls and 1 backfill.
    expect(runs).toEqual([
      { mode: "backfill", models: "1", ok: "1" },
      { mode: "full", models: "1", ok: "1" },
      { mode: "rebuild", models: "10", ok: "10" },
    ]);
  });
});
