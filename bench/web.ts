import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadModels, openGoldStore, runGold } from "#functions/uranus/index.ts";
import { serveEmbeddedStore } from "#shared/clickhouse/http/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { loadMercuryConfig } from "../web/server/config.ts";
import { startMercury } from "../web/server/index.ts";
import { generateSilver } from "./gold.ts";

/**
 * `npm run bench:web`: Mercury's server time per page and data route, and the live map's fan-out.
 *
 * Silver is generated as bench:gold does (sessions of 100 pings over 30 days), gold is refreshed in full, and
 * Mercury (the built app) serves it through the platform's HTTP interface as the read-only reader, all in this
 * process as under `npm start`. Each route is requested `--requests` times one after another after two warm-up
 * requests; the time is the request's wall time on loopback (server time plus a local round trip).
 * Fan-out: `--clients` server-sent-event streams on /api/live while events for 1,000 couriers enter the live
 * hub at `--rate` events/s for 5 s; delay = receipt in the client − the event's time (set to the moment it
 * enters the hub). The clients run in this process, so the CPU figure includes their JSON parsing.
 *
 * Options: --pings=N (default 1,000,000; the figure is 10,000,000), --requests=N (30), --clients=N (100),
 * --rate=N (5000). Targets: p95 ≤ 150 ms for the overview and the live map's data; push delay p95 ≤ 1 s.
 */

const args = process.argv.slice(2);
const option = (name: string, fallback: number) =>
  Number(
    args
      .find((a) => a.startsWith(`--${name}=`))
      ?.slice(name.length + 3)
      .replaceAll("_", "") ?? fallback,
  );
const PINGS = option("pings", 1_000_000);
const REQUESTS = option("requests", 30);
const CLIENTS = option("clients", 100);
const RATE = option("rate", 5000);
const TARGET_MS = 150;
const TARGET_PUSH_MS = 1000;
const progress = (line: string) => process.stderr.write(`${line}\n`);

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function main(): Promise<void> {
  if (!existsSync(path.resolve("web/build/server/index.js"))) {
    throw new Error("Mercury is not built: run npm run web:build first");
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-bench-web-"));
  const env = {
    ...process.env,
    PACKETPULSE_DATA_DIR: dataDir,
    CLICKHOUSE_URL: "",
    CLICKHOUSE_HTTP_PORT: "0",
  };
  const config = loadConfig(env);
  const clickhouse = await openGoldStore(config.clickhouse);
  const sql = await serveEmbeddedStore(config);
  if (!sql) throw new Error("the ClickHouse HTTP interface did not start");
  const endAt = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  progress(`Generating ${PINGS.toLocaleString("en-US")} pings in silver…`);
  await generateSilver(clickhouse, PINGS, endAt);
  progress("Gold: full refresh…");
  await runGold({
    clickhouse,
    models: await loadModels(),
    settings: config.uranus,
    asOf: endAt,
    mode: "full",
  });
  const mercury = await startMercury({
    clickhouse: {
      url: sql.url,
      username: config.clickhouseHttp.reader.name,
      password: config.clickhouseHttp.reader.password,
      database: config.clickhouse.database,
    },
    config: loadMercuryConfig({ PACKETPULSE_DATA_DIR: dataDir, MERCURY_PORT: "0" }),
    print: () => {},
  });
  try {
    const login = await fetch(`${mercury.url}/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "admin@example.com", password: "password" }),
      redirect: "manual",
    });
    const cookie = login.headers.get("set-cookie")?.split(";")[0];
    if (!cookie) throw new Error(`login failed: ${login.status}`);
    const listing = await fetch(`${mercury.url}/sessions?_data=routes%2Fsessions._index`, {
      headers: { cookie },
    });
    const sessionId = ((await listing.json()) as { rows: { session_id: string }[] }).rows[0]!.session_id;

    const routes = [
      ["page /overview", "/overview"],
      ["data overview", "/overview?_data=routes%2Foverview"],
      ["page /map", "/map"],
      ["data live map", "/map?_data=routes%2Fmap"],
      ["data base map", "/api/base-map"],
      ["page /sessions", "/sessions"],
      ["page /sessions?status=failed", "/sessions?status=failed"],
      ["page /sessions/:id", `/sessions/${sessionId}`],
      ["page /fleet", "/fleet"],
      ["page /analytics (month)", "/analytics?period=month"],
      ["page /pipeline", "/pipeline"],
    ] as const;
    const table: string[][] = [];
    for (const [label, route] of routes) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS + 2; i++) {
        const began = performance.now();
        const response = await fetch(`${mercury.url}${route}`, { headers: { cookie } });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${route}: ${response.status}`);
        if (i >= 2) times.push(performance.now() - began);
      }
      times.sort((a, b) => a - b);
      const targeted = label === "data overview" || label === "data live map" || label === "page /overview";
      const p95 = quantile(times, 0.95);
      table.push([
        label,
        quantile(times, 0.5).toFixed(1),
        p95.toFixed(1),
        targeted ? `≤ ${TARGET_MS}` : "",
        targeted ? (p95 <= TARGET_MS ? "pass" : "FAIL") : "",
      ]);
      progress(`  ${label}: p50 ${quantile(times, 0.5).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
    }

    progress(`Fan-out: ${CLIENTS} live-map streams, ${RATE} events/s for 5 s…`);
    const delays: number[] = [];
    let updates = 0;
    const controllers: AbortController[] = [];
    const readers = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const controller = new AbortController();
        controllers.push(controller);
        const response = await fetch(`${mercury.url}/api/live`, {
          headers: { cookie },
          signal: controller.signal,
        });
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        // Wrapped: an async function returning a promise would wait for it.
        const done = (async () => {
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) return;
              buffer += decoder.decode(value, { stream: true });
              let end = buffer.indexOf("\n\n");
              while (end >= 0) {
                const message = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                end = buffer.indexOf("\n\n");
                if (!message.startsWith("event: update")) continue;
                const received = Date.now();
                updates++;
                // Ten clients decode what they get (the delay sample); the others, like distant browsers, only receive.
                if (client >= 10) continue;
                const data = JSON.parse(message.slice(message.indexOf("data: ") + 6)) as {
                  changed: { at: number }[];
                };
                updates++;
                for (const courier of data.changed) delays.push(received - courier.at);
              }
            }
          } catch {
            // Aborted at the end.
          }
        })();
        return { done };
      }),
    );
    progress(`  ${readers.length} streams open`);
    const cpuBefore = process.cpuUsage();
    const began = Date.now();
    let sent = 0;
    const courier = (n: number) => `5e551000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
    while (Date.now() - began < 5000) {
      const due = Math.floor(((Date.now() - began) / 1000) * RATE);
      for (; sent < due; sent++) {
        mercury.context.live.ingest({
          event_type: "location_ping",
          schema_version: 2,
          occurred_at: new Date().toISOString(),
          session_id: courier(sent % 1000),
          vehicle_id: courier(sent % 1000),
          lat: 37.95 + (sent % 100) * 0.0005,
          lon: 23.7 + (sent % 97) * 0.0005,
          speed_kmh: 20,
        });
      }
      await sleep(5);
    }
    await sleep(500);
    const cpu = process.cpuUsage(cpuBefore);
    progress(`  ${sent} events sent, ${updates} pushes received`);
    for (const controller of controllers) controller.abort();
    await Promise.all(readers.map((r) => r.done));
    delays.sort((a, b) => a - b);
    const pushP95 = quantile(delays, 0.95);
    const cpuPerUpdateUs = (cpu.user + cpu.system) / Math.max(1, updates);

    console.log(
      `\nMercury, ${PINGS.toLocaleString("en-US")} pings in silver (${REQUESTS} requests per route after 2 warm-up)\n`,
    );
    console.log("| Route | p50 ms | p95 ms | target | |");
    console.log("|---|---:|---:|---|---|");
    for (const row of table) console.log(`| ${row.join(" | ")} |`);
    console.log(
      `\nLive map fan-out: ${CLIENTS} streams, ${sent.toLocaleString("en-US")} events in 5 s (${RATE}/s, 1,000 couriers): ` +
        `${updates.toLocaleString("en-US")} pushes received, delay p50 ${quantile(delays, 0.5)} ms, p95 ${pushP95} ms ` +
        `(target ≤ ${TARGET_PUSH_MS}: ${pushP95 <= TARGET_PUSH_MS ? "pass" : "FAIL"}), ` +
        `process CPU ${(cpuPerUpdateUs / 1000).toFixed(2)} ms per pushed update (server and clients)`,
    );
  } finally {
    // A query or stream cut by the shutdown is not a benchmark failure.
    await mercury.close().catch(() => {});
    await sql.close().catch(() => {});
    await clickhouse.close().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Exits when done: the embedded store's native threads keep the process alive after it is closed.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
