import { parseArgs } from "node:util";
import { createJupiter, openSilverPool } from "#functions/jupiter/index.ts";
import { openBronzeFreshness } from "#functions/neptune/bronze-freshness.ts";
import { createUranus, loadModels, openGoldStore } from "#functions/uranus/index.ts";
import { openVenusRuntime } from "#functions/venus/runtime.ts";
import { serveEmbeddedStore } from "#shared/clickhouse/http/index.ts";
import { DEVELOPMENT_API_KEY, loadConfig, requireOwnApiKey } from "#shared/config/index.ts";
import { PacketPulseError } from "#shared/errors.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { clickhouseCheck, describeChange, eventLogCheck, HealthModel } from "#shared/health/index.ts";
import { eventLogDeadLetterSink } from "#shared/lambda/index.ts";
import { logger } from "#shared/logging/index.ts";
import { lockDataFolder } from "#shared/platform/data-folder-lock.ts";
import { MINUTE_MS, scaledPeriodMs, scheduleScale } from "#shared/runtime/schedule.ts";
import { serveMercury } from "../web/server/platform.ts";
import { startArrivalMonitor } from "./arrival-monitor.ts";
import { startFunctions } from "./functions.ts";
import { installProcessGuard } from "./process-guard.ts";
import { boundedStep } from "./shutdown.ts";
import { startVenusServer } from "./venus-server.ts";

/**
 * `npm start`: the whole platform in one process on its embedded default (or on Kafka when
 * KAFKA_BOOTSTRAP_SERVERS is set). `npm start -- --simulate` also runs Mars against it.
 */

const usage = `Usage: npm start -- [--simulate] [--sessions N] [--couriers N] [--speed X|max] [--protocol v1|v2] [--seed N]

  --simulate        also run Mars, the courier simulator, against this Venus
  --sessions N      sessions Mars simulates (default 200)
  --couriers N      couriers Mars drives (default 25)
  --speed X|max     simulated seconds per real second (default 30)
  --protocol v1|v2  wire protocol Mars speaks (default v2)
  --seed N          simulation seed (default 42)

Configuration comes from the environment; see README.md ("Configuration").`;

const healthLog = logger("health");

/** How often `npm start` checks its components, to print a line when one changes state. */
const HEALTH_CHECK_INTERVAL_MS = 5_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      simulate: { type: "boolean", default: false },
      sessions: { type: "string", default: "200" },
      couriers: { type: "string", default: "25" },
      speed: { type: "string", default: "30" },
      protocol: { type: "string", default: "v2" },
      seed: { type: "string", default: "42" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const config = loadConfig();
  requireOwnApiKey(config);
  // A nonsense PACKETPULSE_SCHEDULE_SCALE stops start-up here, before anything is opened.
  const scale = scheduleScale();
  // Whatever escapes a connection's or a function's own error handling is logged here; the platform goes on.
  installProcessGuard();
  // Before anything opens or listens: a second process on this folder stops here, naming the holder.
  const lock = lockDataFolder(config.dataDir, "npm start");
  // Shutdown steps, newest first. Signals are handled from the start, so a stop during start-up
  // (a slow embedded ClickHouse, say) still closes what is already open.
  const shutdown: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      console.log(`\n${signal}: stopping PacketPulse…`);
      // Each step gets a bounded time and its failure is said, never left to stop the stop: a part still
      // retrying an unreachable broker must not keep the process (or its ports) alive.
      for (const step of shutdown.reverse()) await boundedStep(step);
      console.log("Stopped. Data is kept; the next start continues from it.");
      process.exit(0);
    })();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const started = () => stopping === undefined;

  shutdown.push(async () => lock.release());
  const log = await openEventLog(config);
  shutdown.push(() => log.close());
  // One health model for the platform: GET /health, and a log line whenever a component changes state.
  const health = new HealthModel([eventLogCheck(log)]);
  health.onChange((change) => {
    if (change.previous !== undefined || change.component.status !== "ok") {
      healthLog[change.component.status === "ok" ? "info" : "warn"](
        `${describeChange(change)}${change.component.detail ? ` — ${change.component.detail}` : ""}`,
      );
    }
  });
  const runtime = await openVenusRuntime(config, {
    log,
    retryTopics: { backoff: { initialMs: 500, maxMs: 30_000 } },
    clearStaleConnections: true,
  });
  shutdown.push(() => runtime.close());
  health.add(runtime.healthCheck());
  const server = await startVenusServer({
    venus: runtime.venus,
    log,
    host: config.venus.host,
    port: config.venus.port,
    limits: config.venus.serverLimits,
    health,
    apiKey: config.venus.apiKey,
  });
  const monitor = startArrivalMonitor({ log, venus: runtime.venus, topics: config.topics });
  shutdown.push(() => monitor.stop());
  shutdown.push(() => server.close());
  const where =
    config.eventLog.backend === "kafka"
      ? `Kafka ${config.eventLog.kafka?.brokers.join(",")}`
      : config.dataDir;
  console.log(`PacketPulse is running (event log: ${config.eventLog.backend}, ${where})`);
  const healthHost = server.url.slice("ws://".length, server.url.lastIndexOf(":"));
  console.log(`  Venus  ${server.url}   health: http://${healthHost}:${server.port}/health`);
  if (config.venus.apiKeyIsDefault) {
    console.log(
      `  API key: the development default (${DEVELOPMENT_API_KEY}); set API_KEY to your own outside development`,
    );
  }
  if (!started()) return;

  // Silver and gold share one ClickHouse client: embedded chDB binds its data folder to one process, and
  // one client keeps Jupiter's writes and Uranus's models on the same session.
  const clickhouse = await openGoldStore(config.clickhouse);
  shutdown.push(() => clickhouse.close());
  health.add(clickhouseCheck(clickhouse));
  const bronze = openBronzeFreshness(config.bronze);
  shutdown.push(() => bronze.close());
  health.add(bronze.healthCheck());
  if (!started()) return;
  // ClickHouse's HTTP interface over the embedded store, for npm run sql, the tools and any ClickHouse client.
  const sql = await serveEmbeddedStore(config).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE") throw error;
    console.log(`  SQL    not served: ${error.message} (set CLICKHOUSE_HTTP_PORT to a free port, or 0)`);
    return undefined;
  });
  if (sql) {
    shutdown.push(() => sql.close());
    console.log(`  SQL    ${sql.url}   ClickHouse HTTP interface (npm run sql)`);
  }

  // The functions of serverless.yml with triggers to emulate (Kafka event sources, schedules), in this
  // process: Jupiter with the shared client, any other from its TypeScript source.
  const silverPool = await openSilverPool(config.silverThreads);
  shutdown.push(() => silverPool.close());
  const jupiter = createJupiter({
    clickhouse,
    deadLetter: eventLogDeadLetterSink(log, config.topics.deadLetter, "jupiter"),
    pool: silverPool,
  });
  // Uranus's handler on the same client, and at start as well as on its schedule, so the gold tables are
  // fresh from the outset.
  const uranus = createUranus({
    clickhouse,
    models: await loadModels(),
    settings: config.uranus,
    bronze,
    tickMs: scaledPeriodMs(MINUTE_MS, scale),
  });
  if (!started()) return;
  const functions = await startFunctions({
    config,
    log,
    handlers: { kafka: { jupiter }, scheduled: { uranus } },
    runAtStart: ["uranus"],
    healthChecked: ["uranus"],
  });
  shutdown.push(() => functions.stop());
  for (const check of functions.healthChecks()) health.add(check);

  // Mercury, the dashboard, on port 3000 (MERCURY_PORT), reading the store as the read-only reader.
  const mercury = await serveMercury({ config, sql, log, groups: functions.eventSources.eventSources });
  if (mercury) shutdown.push(() => mercury.close());

  const watcher = health.watch(HEALTH_CHECK_INTERVAL_MS);
  shutdown.push(async () => watcher.stop());

  if (values.simulate && started()) {
    const { startMars } = await import("#mars/run.ts");
    const mars = startMars({
      url: server.url,
      apiKey: config.venus.apiKey,
      sessions: Number(values.sessions),
      couriers: Number(values.couriers),
      speed: values.speed === "max" ? "max" : Number(values.speed),
      protocol: values.protocol === "v1" ? "v1" : "v2",
      seed: Number(values.seed),
    });
    shutdown.push(() => mars.stop());
    console.log(
      `  Mars   simulating ${values.sessions} sessions with ${values.couriers} couriers (seed ${values.seed})`,
    );
    void mars.done.then(
      (summary) => console.log(summary.line),
      (error: unknown) => console.error(`Mars stopped: ${(error as Error).message}`),
    );
  }
}

main().catch((error: unknown) => {
  if (error instanceof PacketPulseError) {
    console.error(`PacketPulse cannot start.\n${error.message}`);
  } else {
    console.error("PacketPulse cannot start:", error);
  }
  process.exit(1);
});
