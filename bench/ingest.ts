import { Worker } from "node:worker_threads";
import { kafkaBrokers } from "#test/helpers/kafka.ts";
import { startTestPlatform } from "#test/helpers/platform.ts";
import type { LoadResult, LoadSpec } from "./load-worker.ts";

/**
 * `npm run bench:ingest`: events/s acknowledged through WebSocket → validation → event log, and p50/p99
 * acknowledgement latency, per backend and protocol, compared with the targets of the ingestion issue.
 * Kafka rows run when KAFKA_BOOTSTRAP_SERVERS is set (`npm run kafka:start` starts a local broker).
 */

interface Scenario {
  backend: "embedded" | "kafka";
  protocol: "v1" | "v2";
  events: number;
  connections: number;
  batchSize: number;
  window: number;
  target: number;
}

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
const scale = quick ? 0.1 : 1;

const scenarios: Scenario[] = [
  {
    backend: "embedded",
    protocol: "v2",
    events: 400_000,
    connections: 4,
    batchSize: 100,
    window: 16,
    target: 30_000,
  },
  {
    backend: "embedded",
    protocol: "v1",
    events: 60_000,
    connections: 8,
    batchSize: 1,
    window: 64,
    target: 5_000,
  },
  {
    backend: "kafka",
    protocol: "v2",
    events: 300_000,
    connections: 4,
    batchSize: 100,
    window: 16,
    target: 20_000,
  },
  {
    backend: "kafka",
    protocol: "v1",
    events: 60_000,
    connections: 8,
    batchSize: 1,
    window: 64,
    target: 5_000,
  },
];

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./load-worker-entry.mjs", import.meta.url), { workerData: spec });
    worker.once("message", (message: { ok: boolean; result?: LoadResult; error?: string }) => {
      void worker.terminate();
      message.ok ? resolve(message.result!) : reject(new Error(message.error));
    });
    worker.once("error", reject);
  });
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  let failed = false;
  for (const scenario of scenarios) {
    if (only && `${scenario.backend}-${scenario.protocol}` !== only) continue;
    if (scenario.backend === "kafka" && !kafkaBrokers()) {
      rows.push([
        scenario.backend,
        scenario.protocol,
        "-",
        "-",
        "-",
        "-",
        `≥ ${scenario.target.toLocaleString("en-US")}`,
        "skipped (no KAFKA_BOOTSTRAP_SERVERS)",
      ]);
      continue;
    }
    const events = Math.round(scenario.events * scale);
    process.stderr.write(
      `… ${scenario.backend} ${scenario.protocol}: ${events.toLocaleString("en-US")} events over ${scenario.connections} connections\n`,
    );
    const platform = await startTestPlatform(scenario.backend);
    try {
      // Warm up connections, JIT and (on Kafka) the producer before measuring.
      await runLoad({
        url: platform.url,
        apiKey: "test-api-key-123",
        ...scenario,
        events: Math.min(5_000, events),
      });
      const result = await runLoad({ url: platform.url, apiKey: "test-api-key-123", ...scenario, events });
      const rate = result.acknowledged / (result.elapsedMs / 1000);
      const sorted = Float64Array.from(result.latenciesMs).sort();
      const pass = rate >= scenario.target && result.rejected === 0;
      failed ||= !pass;
      rows.push([
        scenario.backend,
        scenario.protocol === "v2" ? `v2 (${scenario.batchSize}/frame)` : "v1 (1/frame)",
        result.acknowledged.toLocaleString("en-US"),
        (result.elapsedMs / 1000).toFixed(2),
        Math.round(rate).toLocaleString("en-US"),
        `${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)}`,
        `≥ ${scenario.target.toLocaleString("en-US")}`,
        pass
          ? "✅ meets target"
          : `❌ below target${result.rejected ? ` (${result.rejected} rejected)` : ""}`,
      ]);
    } finally {
      await platform.close();
    }
  }
  const header = [
    "backend",
    "protocol",
    "events acked",
    "seconds",
    "events/s",
    "ack p50 / p99 ms",
    "target events/s",
    "result",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\nIngestion benchmark (WebSocket → validation → event log), ${new Date().toISOString()}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  if (failed) process.exitCode = 1;
}

await main();
