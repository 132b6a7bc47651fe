import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { loadModels, openGoldStore, runGold } from "#functions/uranus/index.ts";
import { startClickHouseHttp } from "#shared/clickhouse/http/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { generateSilver } from "./gold.ts";

/**
 * `npm run bench:sql`: what ClickHouse's HTTP interface over the embedded store adds to a query, against the
 * same query in-process (the platform's own `@clickhouse/client` on chDB). Silver is generated as in
 * bench:gold (1M pings), gold is refreshed once, then each query runs alternately in-process and through the
 * interface (as the read-only user, as tools do), after warm-up runs; medians are compared.
 *
 * Options: --pings=N (default 1000000), --runs=N (default 15).
 * Target (issue "Query the running platform"): the interface adds at most 10 % or 5 ms, whichever is larger.
 */

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const PINGS = Number(option("pings") ?? 1_000_000);
const RUNS = Number(option("runs") ?? 15);
const WARM_UP = 3;
const progress = (line: string) => process.stderr.write(`${line}\n`);

interface Case {
  name: string;
  query: string;
  /** Informational: no target (a result of a million rows is dominated by moving it). */
  target: boolean;
}

const CASES: Case[] = [
  {
    name: "gold query (kpi_aggregates by day)",
    query: "SELECT * FROM kpi_aggregates WHERE period = 'day' ORDER BY period_start",
    target: true,
  },
  {
    name: `${(PINGS / 1e6).toFixed(0)}M-row scan (session_positions aggregated)`,
    query:
      "SELECT count() AS pings, uniqExact(session_id) AS sessions, avg(speed_kmh) AS speed, max(occurred_at) AS newest FROM session_positions",
    target: true,
  },
  {
    name: `${(PINGS / 1e6).toFixed(0)}M rows returned (JSONEachRow)`,
    query: "SELECT event_id, occurred_at, lat, lon FROM session_positions",
    target: false,
  },
];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function timed(client: ClickHouseClient, query: string): Promise<{ ms: number; bytes: number }> {
  const began = performance.now();
  const text = await (await client.query({ query, format: "JSONEachRow" })).text();
  return { ms: performance.now() - began, bytes: text.length };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-bench-sql-"));
  const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: "0" });
  const inProcess = await openGoldStore(config.clickhouse);
  if (config.clickhouse.backend !== "embedded") throw new Error("bench:sql measures the embedded store");
  const server = await startClickHouseHttp({
    path: config.clickhouse.path,
    database: config.clickhouse.database,
    http: config.clickhouseHttp,
  });
  const overHttp = createClient({
    url: server.url,
    username: config.clickhouseHttp.reader.name,
    password: config.clickhouseHttp.reader.password,
    database: config.clickhouse.database,
    // The platform's client reads times as ISO-8601; so does this one, so both results are the same bytes.
    clickhouse_settings: { date_time_output_format: "iso" },
  });
  const rows: string[][] = [];
  let failed = false;
  try {
    const endAt = new Date();
    await generateSilver(inProcess, PINGS, endAt);
    progress("  refreshing gold…");
    await runGold({
      clickhouse: inProcess,
      models: await loadModels(),
      settings: config.uranus,
      asOf: endAt,
      mode: "full",
    });
    for (const benchCase of CASES) {
      progress(`  ${benchCase.name}: ${WARM_UP} warm-up and ${RUNS} measured runs each way…`);
      const local: number[] = [];
      const remote: number[] = [];
      let bytes = 0;
      for (let run = 0; run < WARM_UP + RUNS; run++) {
        // Alternating, so both see the same caches and the same load from the rest of the machine.
        const a = await timed(inProcess, benchCase.query);
        const b = await timed(overHttp, benchCase.query);
        if (a.bytes !== b.bytes)
          throw new Error(`${benchCase.name}: ${a.bytes} bytes in-process, ${b.bytes} over HTTP`);
        bytes = b.bytes;
        if (run >= WARM_UP) {
          local.push(a.ms);
          remote.push(b.ms);
        }
      }
      const [l, r] = [median(local), median(remote)];
      const added = r - l;
      const allowed = Math.max(l * 0.1, 5);
      const ok = added <= allowed;
      if (benchCase.target && !ok) failed = true;
      rows.push([
        benchCase.name,
        `${(bytes / 1e6).toFixed(2)} MB`,
        `${l.toFixed(1)} ms`,
        `${r.toFixed(1)} ms`,
        `${added >= 0 ? "+" : ""}${added.toFixed(1)} ms (${((added / l) * 100).toFixed(1)} %)`,
        benchCase.target ? `≤ ${allowed.toFixed(1)} ms ${ok ? "✅" : "❌"}` : "(no target)",
      ]);
    }
  } finally {
    await overHttp.close();
    await server.close();
    await inProcess.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const header = ["query", "result", "in-process (median)", "HTTP interface (median)", "added", "target"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nSQL interface benchmark (${PINGS.toLocaleString("en-US")} pings, embedded chDB, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ${RUNS} runs), ${new Date().toISOString()}`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  if (failed) process.exitCode = 1;
}

await main();
