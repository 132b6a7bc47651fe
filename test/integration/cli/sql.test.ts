import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, spawnProcess } from "#test/helpers/processes.ts";

/**
 * `npm start` serves ClickHouse's HTTP interface over its store, and the tools go through it while it runs:
 * `npm run sql` (a table), `npm run uranus`, `npm run replay -- <event> --function jupiter`. Once it
 * stopped, `npm run sql` opens the store itself.
 */

const exec = promisify(execFile);

describe("npm run sql and npm run uranus with and without a running platform", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-sql-"));

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A tool run as a user runs it: exit code, stdout and stderr (never throws). */
  async function tool(script: string, args: string[], env: Record<string, string>) {
    try {
      const { stdout, stderr } = await exec("node", ["--import", "tsx", script, ...args], {
        env: { ...process.env, ...env, FORCE_COLOR: "0" },
        timeout: 180_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it("answers through the running platform's interface, refuses writes by default, and opens the store itself once it stopped", async () => {
    // Prepare: the platform with simulated couriers, its interface on a free port.
    const env = {
      PACKETPULSE_DATA_DIR: dataDir,
      VENUS_PORT: String(await freePort()),
      CLICKHOUSE_HTTP_PORT: "0",
      KAFKA_BOOTSTRAP_SERVERS: "",
      PACKETPULSE_EVENT_LOG: "embedded",
    };
    const platform = spawnProcess(
      "node",
      [
        "--import",
        "tsx",
        "host/start.ts",
        "--simulate",
        "--sessions",
        "8",
        "--couriers",
        "4",
        "--speed",
        "max",
      ],
      env,
    );
    try {
      await platform.waitFor(/SQL {4}http:\/\/127\.0\.0\.1:\d+/, 90_000);
      // Jupiter reports a processed batch once silver rows are in.
      await platform.waitFor(/jupiter ← sessions: lag \d+, [\d.]+ records\/s, [1-9]\d* processed/, 120_000);

      // Act: while it runs
      const count = await tool(
        "cli/sql.ts",
        ["SELECT count() AS sessions, uniqExact(session_id) = count() AS one_row_each FROM sessions"],
        env,
      );
      const write = await tool("cli/sql.ts", ["DROP TABLE sessions_partial"], env);
      const uranus = await tool("cli/uranus.ts", ["--full-refresh"], env);
      const replay = await tool(
        "cli/replay.ts",
        ["events/kafka/msk-sessions.json", "--function", "jupiter"],
        env,
      );
      const gold = await tool(
        "cli/sql.ts",
        ["SELECT count() > 0 AS has_rows FROM session_summary", "--format", "TSV"],
        env,
      );

      // Assess
      expect(count.code).toBe(0);
      expect(count.stdout).toMatch(/sessions.*one_row_each/);
      expect(count.stdout).toMatch(/│\s+[1-9]\d* │\s+1 │/);
      expect(write.code).toBe(1);
      expect(write.stderr).toContain("Code: 164");
      expect(uranus.stdout).toContain("through the running platform's ClickHouse HTTP interface");
      expect(uranus.stdout).toMatch(/Done: 10\/10 models/);
      expect(uranus.code).toBe(0);
      expect(replay.stderr).toContain("through the running platform's ClickHouse HTTP interface");
      expect(JSON.parse(replay.stdout)).toEqual({ batchItemFailures: [] });
      expect(replay.code).toBe(0);
      expect(gold.stdout).toBe("1\n");
    } finally {
      expect(await platform.stop("SIGTERM")).toBe(0);
    }

    // Act: after it stopped, the same question, answered by this process's own store.
    const after = await tool(
      "cli/sql.ts",
      ["SELECT count() AS n FROM sessions_partial", "--format", "TSV"],
      env,
    );
    const exact = await tool("cli/sql.ts", ["SELECT count() AS n FROM sessions", "--format", "TSV"], env);

    // Assess
    expect(after.code).toBe(0);
    expect(Number(after.stdout)).toBeGreaterThanOrEqual(Number(exact.stdout));
    expect(Number(exact.stdout)).toBeGreaterThan(0);
  }, 400_000);
});
