import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { ClickHouseClient } from "@clickhouse/client";
import WebSocket from "ws";
import { sleep } from "#shared/platform/sleep.ts";

/**
 * `npm run bench:silver`: the silver layer (event log → event-source runtime → Jupiter → ClickHouse).
 *
 * (a) records/s: the embedded log is filled with N simulated v2 events (Mars, fixed seed) and a tenth more
 *     before them, then the runtime starts with Jupiter; the clock starts once the first tenth is consumed
 *     (the process warmed up) and runs until the lag is 0.
 * (b) ack-to-visible: Venus (embedded, in this process) and the runtime with Jupiter run together while a
 *     worker thread sends v2 batches at a steady rate; the delay from Venus's acknowledgement of a batch to
 *     its first event being visible in `session_positions` is measured per batch.
 *
 * Options: --quick (a tenth of the events, a shorter load), --events=N, --warmup=N, --rate=N, --seconds=N,
 * --batch-size=N (override the jupiter event's batchSize), --only=throughput|latency, --thread-cpu (after the
 * throughput run, the CPU seconds each thread of the process used: main, workers, V8 and libuv helpers and
 * ClickHouse's pools).
 */

interface SenderSpec {
  url: string;
  apiKey: string;
  rate: number;
  seconds: number;
  batchSize: number;
}

interface SenderResult {
  /** Per batch: the first event's id and the epoch ms at which Venus's acknowledgement arrived. */
  acks: { eventId: string; ackedAt: number }[];
  sent: number;
  accepted: number;
}

// ---------------------------------------------------------------------------------------------------------
// Worker thread: paces v2 batches at `rate` events/s over one WebSocket connection.

async function runSender(spec: SenderSpec): Promise<SenderResult> {
  const devices = Array.from({ length: 200 }, () => ({
    device: randomUUID(),
    vehicle: randomUUID(),
    session: randomUUID(),
    order: randomUUID(),
  }));
  const socket = new WebSocket(spec.url, { headers: { "x-api-key": spec.apiKey } });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  const acks: SenderResult["acks"] = [];
  const pending = new Map<string, string>();
  let accepted = 0;
  let sent = 0;
  let answered = 0;
  socket.on("message", (data) => {
    const reply = JSON.parse(data.toString()) as { batch_id?: string; accepted?: number };
    const ackedAt = Date.now();
    const first = reply.batch_id ? pending.get(reply.batch_id) : undefined;
    if (first !== undefined) {
      pending.delete(reply.batch_id!);
      acks.push({ eventId: first, ackedAt });
    }
    accepted += Number(reply.accepted ?? 0);
    answered += 1;
  });
  const total = Math.round(spec.rate * spec.seconds);
  const intervalMs = (spec.batchSize / spec.rate) * 1000;
  const started = performance.now();
  let batches = 0;
  while (sent < total) {
    const due = started + batches * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const size = Math.min(spec.batchSize, total - sent);
    const occurredAt = new Date(Date.now() - 500).toISOString();
    const events = Array.from({ length: size }, (_, k) => {
      const d = devices[(sent + k) % devices.length]!;
      return {
        event_id: randomUUID(),
        event_type: "location_ping",
        schema_version: 2,
        occurred_at: occurredAt,
        device_id: d.device,
        vehicle_id: d.vehicle,
        session_id: d.session,
        order_id: d.order,
        lat: 37.97 + ((sent + k) % 100) / 10_000,
        lon: 23.73 + ((sent + k) % 100) / 10_000,
        speed_kmh: 23.5,
        heading_deg: 180,
        accuracy_m: 5,
      };
    });
    const batchId = `b${batches}`;
    pending.set(batchId, events[0]!.event_id);
    socket.send(JSON.stringify({ type: "events", batch_id: batchId, events }));
    sent += size;
    batches += 1;
  }
  const deadline = Date.now() + 30_000;
  while (answered < batches && Date.now() < deadline) await sleep(20);
  socket.close();
  return { acks, sent, accepted };
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === "silver-sender") {
  runSender((workerData as { spec: SenderSpec }).spec).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: String(error) }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Main thread.

/**
 * Wraps the client's insert to measure how much of the wall time at least one insert was running: near
 * 100 % means ClickHouse (at most two statements at a time in-process, decision 015) is the limit.
 */
function traceInserts(clickhouse: ClickHouseClient) {
  const insert = clickhouse.insert.bind(clickhouse);
  let running = 0;
  let since = 0;
  let busy = 0;
  clickhouse.insert = (async (params: Parameters<ClickHouseClient["insert"]>[0]) => {
    if (running++ === 0) since = performance.now();
    try {
      return await insert(params);
    } finally {
      if (--running === 0) busy += performance.now() - since;
    }
  }) as ClickHouseClient["insert"];
  return {
    reset: () => {
      busy = 0;
    },
    busyMs: () => busy,
  };
}

/** CPU seconds per thread of this process (Linux; empty elsewhere), keyed by thread id, with its name. */
function threadCpu(): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>();
  if (!existsSync("/proc/self/task")) return out;
  // Linux counts thread CPU time in clock ticks of 1/100 s.
  const tick = 100;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.set(tid, {
        name: tid === String(process.pid) ? "main" : name,
        seconds: (Number(fields[11]) + Number(fields[12])) / tick,
      });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

function printThreadCpu(
  before: ReturnType<typeof threadCpu>,
  after: ReturnType<typeof threadCpu>,
  wall: number,
) {
  const rows = [...after].map(([tid, { name, seconds }]) => ({
    tid,
    name,
    seconds: seconds - (before.get(tid)?.seconds ?? 0),
  }));
  if (rows.length === 0)
    progress("  --thread-cpu: per-thread CPU times come from /proc, which this system lacks");
  rows.sort((a, b) => b.seconds - a.seconds);
  for (const r of rows.filter((r) => r.seconds >= 0.05)) {
    progress(
      `  ${r.tid.padStart(8)} ${r.name.padEnd(16)} ${r.seconds.toFixed(2)} s (${Math.round((r.seconds / wall) * 100)} %)`,
    );
  }
}

const args = process.argv.slice(2);
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes("--quick");
const only = option("only");

const TARGET_RECORDS_PER_S = 50_000;
const TARGET_P95_MS = 2_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

function runSenderWorker(spec: SenderSpec): Promise<SenderResult> {
  // Worker threads start without tsx's loader: register it, then load this file in the worker.
  const source = `
    const { register } = await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))});
    register();
    await import(${JSON.stringify(new URL(import.meta.url).href)});
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
      workerData: { role: "silver-sender", spec },
    });
    worker.once("message", (message: { ok: boolean; result?: SenderResult; error?: string }) => {
      void worker.terminate();
      message.ok ? resolve(message.result!) : reject(new Error(message.error));
    });
    worker.once("error", reject);
  });
}

async function main(): Promise<void> {
  const { isolatedEnv } = await import("#test/helpers/platform.ts");
  const { loadConfig } = await import("#shared/config/index.ts");
  const { openEventLog } = await import("#shared/event-log/index.ts");
  const { startEventSources, loadServerlessFile } = await import("#shared/runtime/index.ts");
  const { createJupiter, openSilverStore } = await import("#functions/jupiter/index.ts");
  const { simulate } = await import("#mars/index.ts");
  const { openVenusRuntime } = await import("#functions/venus/runtime.ts");
  const { startVenusServer } = await import("#host/venus-server.ts");

  const env = isolatedEnv("embedded");
  const config = loadConfig(env);
  const log = await openEventLog(config);
  const topic = config.topics.sessions;
  await log.ensureTopics([{ topic, partitions: config.topics.partitions }]);
  const clickhouse: ClickHouseClient = await openSilverStore(config.clickhouse);
  const inserts = traceInserts(clickhouse);
  const deadLetters: unknown[] = [];
  const { openSilverPool } = await import("#functions/jupiter/index.ts");
  const pool = await openSilverPool(option("threads") ? Number(option("threads")) : config.silverThreads);
  console.log(`Jupiter's batch work on ${pool.threads} thread(s)`);
  const jupiter = createJupiter({
    clickhouse,
    pool,
    deadLetter: async (letters) => {
      deadLetters.push(...letters);
    },
  });
  const service = loadServerlessFile("serverless.yml");
  const batchOverride = option("batch-size");
  const mskEvent = (
    service.functions?.jupiter?.events as { msk?: Record<string, unknown> }[] | undefined
  )?.[0]?.msk;
  if (batchOverride && mskEvent) mskEvent.batchSize = Number(batchOverride);
  const batchSize = Number(mskEvent?.batchSize ?? 100);
  const startRuntime = () =>
    startEventSources({
      config,
      log,
      serverlessConfig: service,
      handlers: { jupiter: jupiter as never },
      functions: ["jupiter"],
      statsIntervalMs: 0,
      say: (line) => progress(`  [event-sources] ${line}`),
    });
  const lagOf = async (runtime: Awaited<ReturnType<typeof startRuntime>>) =>
    (await runtime.stats()).eventSources[0]?.lag ?? null;

  const rows: string[][] = [];
  let failed = false;
  try {
    // (a) Throughput from a filled log.
    if (!only || only === "throughput") {
      const measured = Number(option("events") ?? (quick ? 20_000 : 200_000));
      // Consumed before the clock starts: the JIT compiles the hot paths and the tables hold rows, as in a
      // process that has been running (docs/benchmarks.md).
      const warmup = Number(option("warmup") ?? Math.round(measured / 10));
      const total = warmup + measured;
      progress(
        `… filling the embedded log with ${total.toLocaleString("en-US")} simulated v2 events (${warmup.toLocaleString("en-US")} to warm up)`,
      );
      const startMs = Date.parse("2024-05-01T08:00:00Z");
      let chunk: { key: string; value: string; headers: Record<string, string>; timestamp: number }[] = [];
      let appended = 0;
      // Mars's simulation, repeated with new seeds until there are enough events.
      for (let seed = 42; appended < total; seed++) {
        for (const { event, atMs } of simulate({ seed, sessions: 500, startMs })) {
          chunk.push({
            key: event.device_id,
            value: JSON.stringify(event),
            headers: { event_id: event.event_id, schema_version: "2" },
            timestamp: atMs + 800,
          });
          if (chunk.length === 5_000 || appended + chunk.length === total) {
            await log.append(topic, chunk);
            appended += chunk.length;
            chunk = [];
            process.stderr.write(`\r  appended ${appended.toLocaleString("en-US")}`);
            if (appended >= total) break;
          }
        }
      }
      process.stderr.write("\n");
      progress(
        `… Jupiter (batchSize ${batchSize}): ${warmup.toLocaleString("en-US")} records to warm up, then the clock runs until the lag is 0`,
      );
      const runtime = await startRuntime();
      await runtime.ready;
      let lag = await lagOf(runtime);
      while (lag === null || lag > measured) {
        await sleep(5);
        lag = await lagOf(runtime);
      }
      // The clock starts with the first commit past the warm-up; what is left then is what is measured.
      const records = lag;
      const started = performance.now();
      inserts.reset();
      const cpuBefore = process.cpuUsage();
      const threadsBefore = threadCpu();
      let lastReport = 0;
      while (lag !== 0) {
        // Checked often: the measured time ends at most this long after the last commit.
        await sleep(20);
        lag = await lagOf(runtime);
        if (performance.now() - lastReport > 2_000) {
          lastReport = performance.now();
          process.stderr.write(`\r  lag ${lag ?? "?"}   `);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const insertShare = inserts.busyMs() / (seconds * 1000);
      const cpu = process.cpuUsage(cpuBefore);
      const cores = (cpu.user + cpu.system) / 1e6 / seconds;
      process.stderr.write("\n");
      if (args.includes("--thread-cpu")) printThreadCpu(threadsBefore, threadCpu(), seconds);
      await runtime.stop();
      const rate = records / seconds;
      const [count] = await (
        await clickhouse.query({ query: "SELECT count() AS n FROM session_positions", format: "JSONEachRow" })
      ).json<{ n: string }>();
      const pass = rate >= TARGET_RECORDS_PER_S && deadLetters.length === 0;
      failed ||= !pass;
      rows.push([
        `log → silver (batchSize ${batchSize})`,
        `${records.toLocaleString("en-US")} records after ${(total - records).toLocaleString("en-US")} to warm up (${Number(count?.n ?? 0).toLocaleString("en-US")} positions in all, ${deadLetters.length} dead letters) in ${seconds.toFixed(2)} s`,
        `${Math.round(rate).toLocaleString("en-US")} records/s (${cores.toFixed(2)} cores busy; ClickHouse inserting ${Math.round(insertShare * 100)} % of the time)`,
        `≥ ${TARGET_RECORDS_PER_S.toLocaleString("en-US")} records/s`,
        pass ? "✅ meets target" : "❌ below target",
      ]);
    }

    // (b) Ack-to-visible delay under a steady load.
    if (!only || only === "latency") {
      const rate = Number(option("rate") ?? 5_000);
      const seconds = Number(option("seconds") ?? (quick ? 10 : 30));
      progress(`… Venus + Jupiter, ${rate.toLocaleString("en-US")} events/s for ${seconds} s`);
      const venus = await openVenusRuntime(config, { log });
      const server = await startVenusServer({ venus: venus.venus, log, host: "127.0.0.1", port: 0 });
      const runtime = await startRuntime();
      await runtime.ready;
      const visibleAt = new Map<string, number>();
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const result = await clickhouse.query({
            query: `SELECT event_id FROM session_positions WHERE received_at >= now64(3) - INTERVAL ${seconds + 120} SECOND`,
            format: "JSONEachRow",
          });
          const now = Date.now();
          for (const { event_id } of await result.json<{ event_id: string }>()) {
            if (!visibleAt.has(event_id)) visibleAt.set(event_id, now);
          }
          await sleep(50);
        }
      })();
      try {
        const result = await runSenderWorker({
          url: server.url,
          apiKey: env.API_KEY!,
          rate,
          seconds,
          batchSize: 100,
        });
        progress(`  sent ${result.sent}, accepted ${result.accepted}; waiting for the last rows`);
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline && result.acks.some((a) => !visibleAt.has(a.eventId))) await sleep(100);
        polling = false;
        await poller;
        const delays = result.acks
          .map((a) => (visibleAt.get(a.eventId) ?? Number.NaN) - a.ackedAt)
          .filter((d) => Number.isFinite(d))
          .sort((x, y) => x - y);
        const missing = result.acks.length - delays.length;
        const p50 = percentile(delays, 50);
        const p95 = percentile(delays, 95);
        const pass = p95 <= TARGET_P95_MS && missing === 0 && result.accepted === result.sent;
        failed ||= !pass;
        rows.push([
          `ack → visible (batchSize ${batchSize})`,
          `${result.sent.toLocaleString("en-US")} events at ${rate.toLocaleString("en-US")}/s, ${result.acks.length} batches sampled${missing ? `, ${missing} never visible` : ""}`,
          `p50 ${Math.max(0, p50).toFixed(0)} ms / p95 ${Math.max(0, p95).toFixed(0)} ms`,
          `p95 ≤ ${TARGET_P95_MS.toLocaleString("en-US")} ms`,
          pass ? "✅ meets target" : "❌ misses target",
        ]);
      } finally {
        polling = false;
        await poller.catch(() => {});
        await runtime.stop();
        await server.close();
        await venus.close();
      }
    }
  } finally {
    await pool.close();
    await clickhouse.close();
    await log.close();
    rmSync(config.dataDir, { recursive: true, force: true });
  }

  const header = ["step", "load", "measured", "target", "result"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\nSilver benchmark (event log → Jupiter → ClickHouse, embedded), ${new Date().toISOString()}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  if (failed) process.exitCode = 1;
}

if (isMainThread) await main();
