import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { SILVER_TABLES } from "#functions/jupiter/index.ts";
import { chTime, loadModels, openGoldStore, runGold } from "#functions/uranus/index.ts";
import { loadConfig } from "#shared/config/index.ts";

/**
 * `npm run bench:gold`: Uranus's refresh time against the size of silver (embedded chDB, one process).
 *
 * For each size, silver is generated directly with ClickHouse SQL (INSERT … SELECT FROM numbers()): sessions
 * of 100 pings 10 s apart, spread over 30 days, 20 sessions per vehicle, 92 % completed, 4 % failed, 4 %
 * cancelled, the newest still running. Then:
 * 1. full refresh: every model from scratch (`mode: "full"`), after one untimed warm-up run;
 * 2. incremental refresh: one minute of new traffic lands (6 pings for each of 1,000 running sessions, with
 *    their session rows), then a scheduled run one minute later (session_summary incremental, the rest rebuilt).
 *
 * Options: --pings=1000000,10000000 (default), --quick (1,000,000 only).
 * Targets (issue "Gold"): full refresh of all models on 10M pings ≤ 10 s; incremental refresh ≤ 1 s.
 */

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const sizes = args.includes("--quick")
  ? [1_000_000]
  : (option("pings") ?? "1000000,10000000").split(",").map((n) => Number(n.replaceAll("_", "")));

const TARGET_FULL_S = 10;
const TARGET_INCREMENTAL_S = 1;
const PINGS_PER_SESSION = 100;
const SESSIONS_PER_VEHICLE = 20;
const DAYS = 30;
const progress = (line: string) => process.stderr.write(`${line}\n`);

// A deterministic UUID from a number and a prefix ('5e551000' sessions, '7e41c1e0' vehicles, ...).
const uuidOf = (prefix: string, n: string) =>
  `toUUID(concat('${prefix}-0000-4000-8000-', leftPad(lower(hex(toUInt64(${n}))), 12, '0')))`;

export async function generateSilver(
  clickhouse: ClickHouseClient,
  pings: number,
  endAt: Date,
): Promise<number> {
  const sessions = Math.floor(pings / PINGS_PER_SESSION);
  const vehicles = Math.max(1, Math.floor(sessions / SESSIONS_PER_VEHICLE));
  const windowMs = DAYS * 86_400_000;
  const tripMs = PINGS_PER_SESSION * 10_000;
  // Session s starts at start + s·step; the last ones are still running at `endAt`.
  const start = `toDateTime64('${chTime(new Date(endAt.getTime() - windowMs))}', 3, 'UTC')`;
  const stepMs = Math.floor((windowMs - tripMs / 2) / sessions);
  const startOf = (s: string) => `${start} + toIntervalMillisecond(${s} * ${stepMs})`;
  progress(
    `  generating ${pings.toLocaleString("en-US")} pings in ${sessions.toLocaleString("en-US")} sessions…`,
  );
  await clickhouse.command({
    query: `INSERT INTO session_positions (event_id, session_id, device_id, vehicle_id, order_id, source, occurred_at,
              received_at, lat, lon, speed_kmh, heading_deg, accuracy_m, v1_status)
            SELECT ${uuidOf("e7e70000", "number")}, ${uuidOf("5e551000", "s")}, ${uuidOf("de71ce00", "s % 50000")},
                   ${uuidOf("7e41c1e0", `s % ${vehicles}`)}, ${uuidOf("0bde0000", "s")}, 'location_ping', at,
                   at + toIntervalSecond(1), 37.9 + (s % 97) * 0.001 + p * 0.0003, 23.7 + (s % 89) * 0.001 + p * 0.0001,
                   20 + p % 10, 0, 5, NULL
            FROM (SELECT number, intDiv(number, ${PINGS_PER_SESSION}) AS s, number % ${PINGS_PER_SESSION} AS p,
                         ${startOf("s")} + toIntervalSecond(p * 10) AS at
                  FROM numbers(${pings}))
            WHERE at <= toDateTime64('${chTime(endAt)}', 3, 'UTC')`,
  });
  // One partial row per session, as Jupiter's merged batches would leave them.
  const status = "multiIf(s % 25 = 7, 'failed', s % 25 = 11, 'cancelled', 'completed')";
  const sessionRows = `
    SELECT s, ${startOf("s")} AS started, started + toIntervalMillisecond(${tripMs}) AS finished,
           finished <= toDateTime64('${chTime(endAt)}', 3, 'UTC') AS done,
           if(done, finished, toDateTime64('${chTime(endAt)}', 3, 'UTC')) AS last_at,
           ${status} AS final_status,
           37.9 + (s % 97) * 0.001 AS plat, 23.7 + (s % 89) * 0.001 AS plon,
           plat + 99 * 0.0003 AS dlat, plon + 99 * 0.0001 AS dlon
    FROM (SELECT number AS s FROM numbers(${sessions}))`;
  await clickhouse.command({
    query: `INSERT INTO entities (entity, id, device_id, vehicle_id, order_id, vehicle_type, pickup_lat, pickup_lon,
              dropoff_lat, dropoff_lon, started_at, promised_at, ended_at, first_event_at, last_event_at,
              last_received_at, latest_status, last_position)
            SELECT 'session', ${uuidOf("5e551000", "s")}, ${uuidOf("de71ce00", "s % 50000")}, ${uuidOf("7e41c1e0", `s % ${vehicles}`)},
                   ${uuidOf("0bde0000", "s")}, 'scooter', plat, plon, dlat, dlon, started,
                   started + toIntervalMinute(30), if(done, finished, NULL), started, last_at,
                   last_at + toIntervalSecond(1),
                   if(done, tuple(finished, 5, final_status), tuple(started, 3, 'en_route')),
                   tuple(last_at, plat, plon)
            FROM (${sessionRows})`,
  });
  await clickhouse.command({
    query: `INSERT INTO entities (entity, id, session_id, device_id, vehicle_id, pickup_lat, pickup_lon, dropoff_lat,
              dropoff_lon, promised_at, created_at, picked_up_at, delivered_at, failed_at, cancelled_at, end_reason,
              first_event_at, last_event_at, latest_status)
            SELECT 'order', ${uuidOf("0bde0000", "s")}, ${uuidOf("5e551000", "s")}, ${uuidOf("de71ce00", "s % 50000")},
                   ${uuidOf("7e41c1e0", `s % ${vehicles}`)}, plat, plon, dlat, dlon, started + toIntervalMinute(30),
                   started, started + toIntervalMinute(3),
                   if(done AND final_status = 'completed', finished, NULL),
                   if(done AND final_status = 'failed', finished, NULL),
                   if(done AND final_status = 'cancelled', finished, NULL),
                   if(done AND final_status != 'completed', 'bench', NULL), started, last_at,
                   if(done, tuple(finished, 5, final_status), tuple(started, 3, 'en_route'))
            FROM (${sessionRows})`,
  });
  await clickhouse.command({
    query: `INSERT INTO entities (entity, id, vehicle_type, first_seen_at, last_seen_at, last_position, last_session)
            SELECT 'vehicle', ${uuidOf("7e41c1e0", "v")}, 'scooter', min(started), max(last_at), max(tuple(last_at, plat, plon)),
                   max(tuple(last_at, toString(${uuidOf("5e551000", "s")}), toString(${uuidOf("de71ce00", "s % 50000")})))
            FROM (SELECT *, s % ${vehicles} AS v FROM (${sessionRows}))
            GROUP BY v`,
  });
  await clickhouse.command({ query: "OPTIMIZE TABLE entities FINAL" });
  return sessions;
}

/** One minute of traffic: 6 more pings for each of the 1,000 newest sessions, received just now. */
export async function landOneMinute(clickhouse: ClickHouseClient, sessions: number, at: Date): Promise<void> {
  const first = Math.max(0, sessions - 1000);
  const now = `toDateTime64('${chTime(at)}', 3, 'UTC')`;
  await clickhouse.command({
    query: `INSERT INTO session_positions (event_id, session_id, device_id, vehicle_id, order_id, source, occurred_at,
              received_at, lat, lon, speed_kmh, heading_deg, accuracy_m, v1_status)
            SELECT generateUUIDv4(number), ${uuidOf("5e551000", "s")}, ${uuidOf("de71ce00", "s % 50000")},
                   ${uuidOf("7e41c1e0", "0")}, ${uuidOf("0bde0000", "s")}, 'location_ping',
                   ${now} - toIntervalSecond(60 - k * 10), ${now}, 37.95 + k * 0.0001, 23.75, 20, 0, 5, NULL
            FROM (SELECT number, ${first} + intDiv(number, 6) AS s, number % 6 AS k FROM numbers(${(sessions - first) * 6}))`,
  });
  await clickhouse.command({
    query: `INSERT INTO entities (entity, id, last_event_at, last_received_at, first_event_at, latest_status, last_position)
            SELECT 'session', ${uuidOf("5e551000", "s")}, ${now}, ${now}, ${now}, tuple(toDateTime64(0, 3, 'UTC'), 0, ''),
                   tuple(${now}, 37.9505, 23.75)
            FROM (SELECT ${first} + number AS s FROM numbers(${sessions - first}))`,
  });
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-bench-gold-"));
  const config = loadConfig({ ...process.env, PACKETPULSE_DATA_DIR: dataDir, CLICKHOUSE_URL: "" });
  const clickhouse = await openGoldStore(config.clickhouse);
  const models = await loadModels();
  const rows: string[][] = [];
  let failed = false;
  try {
    for (const pings of sizes) {
      for (const table of [...SILVER_TABLES, "uranus_runs"]) {
        await clickhouse.command({ query: `TRUNCATE TABLE ${table}` });
      }
      for (const model of models) await clickhouse.command({ query: `DROP TABLE IF EXISTS ${model.name}` });
      const endAt = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      const began = performance.now();
      const sessions = await generateSilver(clickhouse, pings, endAt);
      progress(`  silver ready in ${((performance.now() - began) / 1000).toFixed(1)} s; warm-up run…`);
      await runGold({ clickhouse, models, settings: config.uranus, asOf: endAt, mode: "full" });

      progress("  full refresh…");
      const fullStart = performance.now();
      const full = await runGold({ clickhouse, models, settings: config.uranus, asOf: endAt, mode: "full" });
      const fullS = (performance.now() - fullStart) / 1000;

      const next = new Date(endAt.getTime() + 60_000);
      await landOneMinute(clickhouse, sessions, next);
      progress("  incremental refresh…");
      const incStart = performance.now();
      const incremental = await runGold({ clickhouse, models, settings: config.uranus, asOf: next });
      const incS = (performance.now() - incStart) / 1000;
      for (const [label, run] of [
        ["full", full],
        ["incremental", incremental],
      ] as const) {
        progress(`  ${label}: ${run.models.map((m) => `${m.model} ${m.durationMs} ms`).join(", ")}`);
      }

      const ok = full.ok && incremental.ok;
      const summary = incremental.models.find((m) => m.model === "session_summary");
      const slowest = [...full.models].sort((a, b) => b.durationMs - a.durationMs)[0];
      const fullPass = pings < 10_000_000 || fullS <= TARGET_FULL_S;
      const incPass = incS <= TARGET_INCREMENTAL_S;
      failed ||= !ok || !fullPass || !incPass;
      rows.push([
        pings.toLocaleString("en-US"),
        sessions.toLocaleString("en-US"),
        `${fullS.toFixed(2)} s (slowest: ${slowest?.model} ${((slowest?.durationMs ?? 0) / 1000).toFixed(2)} s)`,
        pings >= 10_000_000 ? `≤ ${TARGET_FULL_S} s` : "—",
        `${incS.toFixed(2)} s (${summary?.rowsWritten.toLocaleString("en-US")} sessions recomputed)`,
        `≤ ${TARGET_INCREMENTAL_S} s`,
        !ok ? "❌ a model failed" : fullPass && incPass ? "✅ meets target" : "❌ misses target",
      ]);
      if (!ok) {
        for (const m of [...full.models, ...incremental.models].filter((r) => r.outcome !== "success")) {
          progress(`  ${m.model}: ${m.outcome} ${m.error}`);
        }
      }
    }
  } finally {
    await clickhouse.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const header = [
    "silver pings",
    "sessions",
    "full refresh (all models)",
    "target",
    "incremental refresh",
    "target",
    "result",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nGold benchmark (Uranus on embedded chDB, ${os.cpus().length} cores), ${new Date().toISOString()}`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  if (failed) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
