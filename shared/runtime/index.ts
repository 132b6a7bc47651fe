import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { PacketPulseConfig } from "#shared/config/index.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import type { HealthCheck, HealthCheckResult } from "#shared/health/types.ts";
import { logger, loggerOr } from "#shared/logging/index.ts";
import { EventSourceConfigError } from "./errors.ts";
import { EventSourcePoller, type PollerState, type RetryBackoff } from "./event-source-poller.ts";
import { type HandlerSource, loadHandler } from "./handlers.ts";
import { eventSourceSpecs, loadServerlessFile, type ServerlessService } from "./serverless.ts";
import type { EventSourceSpec, EventSourceStats, KafkaHandler, RuntimeStats } from "./types.ts";

export { EventSourceConfigError, EventSourceStopped, InvocationError } from "./errors.ts";
export { FAILURE_HEADERS, type FailureReason, type PollerState } from "./event-source-poller.ts";
export { type HandlerSource, loadHandler } from "./handlers.ts";
export { buildInProcessKafkaEvent, buildKafkaEvent, toEventRecord } from "./kafka-event.ts";
export {
  eventSourceSpecs,
  loadServerlessFile,
  parseServerlessYaml,
  type ServerlessService,
} from "./serverless.ts";
export type * from "./types.ts";

/** File in the data folder where the runtime keeps its latest statistics for a dashboard. */
export const RUNTIME_STATS_FILE = "event-source-runtime.json";

export interface StartEventSourcesOptions {
  config: PacketPulseConfig;
  log: EventLog;
  /** The resolved service (the plugin passes the framework's); default: serverless.yml read from `root`. */
  serverlessConfig?: ServerlessService;
  /** Handlers by function name; functions not named here are loaded from their `handler` path. */
  handlers?: Record<string, KafkaHandler>;
  /** Where handler code comes from when it is not in `handlers` (default `dist`). */
  handlerSource?: HandlerSource;
  /** Only these functions (default: every function with an enabled msk/kafka event). */
  functions?: string[];
  /** Repository root: serverless.yml and handler paths are relative to it (default: the working directory). */
  root?: string;
  env?: Record<string, string | undefined>;
  backoff?: Partial<RetryBackoff>;
  /** How often statistics are logged and written to the data folder (default 10 s; 0 turns it off). */
  statsIntervalMs?: number;
  /** Instead of the `runtime` logger, every line of this runtime to one function (tests). */
  say?: (line: string) => void;
}

export interface EventSourceRuntime {
  /** Resolves when every consumer has joined its group and is fetching, or is retrying after a failure. */
  readonly ready: Promise<void>;
  readonly eventSources: readonly EventSourceSpec[];
  stats(): Promise<RuntimeStats>;
  /** One health check per event source (`consumer:<function>`): running, or retrying with the reason. */
  healthChecks(): HealthCheck[];
  stop(): Promise<void>;
}

/** How long a health check waits for a consumer's lag before reporting it unknown. */
const LAG_CHECK_TIMEOUT_MS = 2_000;

const running = new Set<{ latest: RuntimeStats | undefined }>();

/** The latest statistics of every runtime in this process (also written to RUNTIME_STATS_FILE). */
export function runtimeStats(): RuntimeStats[] {
  return [...running].flatMap((runtime) => (runtime.latest ? [runtime.latest] : []));
}

/**
 * Starts one event source mapping per `msk` / `kafka` event of serverless.yml over the given event log:
 * the same handlers, the same event shape and the same delivery rules as Lambda's Kafka event sources.
 */
export async function startEventSources(options: StartEventSourcesOptions): Promise<EventSourceRuntime> {
  const { config, log } = options;
  const root = options.root ?? process.cwd();
  const runtimeLog = loggerOr(options.say, logger("runtime"));
  const service =
    options.serverlessConfig ?? loadServerlessFile(path.join(root, "serverless.yml"), { env: options.env });
  const specs = eventSourceSpecs(service, {
    bootstrapServers: config.eventLog.kafka?.brokers.join(","),
  }).filter((spec) => spec.enabled && (!options.functions || options.functions.includes(spec.functionName)));
  for (const name of options.functions ?? []) {
    if (!specs.some((spec) => spec.functionName === name)) {
      throw new EventSourceConfigError(
        `Function "${name}" has no enabled msk or kafka event in serverless.yml`,
      );
    }
  }
  const backoff: RetryBackoff = { initialMs: 500, maxMs: 30_000, ...options.backoff };
  const pollers: EventSourcePoller[] = [];
  for (const spec of specs) {
    const handler =
      options.handlers?.[spec.functionName] ??
      (await loadHandler(spec.handler, { source: options.handlerSource ?? "dist", root }));
    pollers.push(
      new EventSourcePoller({
        spec,
        handler,
        log,
        partitions: config.topics.partitions,
        backoff,
        region: config.aws.region,
        runtimeLog,
      }),
    );
  }

  const startedAt = new Date().toISOString();
  const entry: { latest: RuntimeStats | undefined } = { latest: undefined };
  running.add(entry);
  const previous = new Map<EventSourcePoller, { at: number; processed: number }>();
  const statsFile = path.join(config.dataDir, RUNTIME_STATS_FILE);

  const lagOf = async (spec: EventSourceSpec) => {
    let lag: number | null = null;
    const lagByPartition: Record<string, number> = {};
    try {
      const [ends, committed] = await Promise.all([
        log.offsets(spec.topic),
        log.committedOffsets(spec.consumerGroupId, spec.topic),
      ]);
      lag = 0;
      for (const { partition, low, high } of ends) {
        const done = committed.find((c) => c.partition === partition)?.offset;
        const from = done ?? (spec.startingPosition === "LATEST" ? high : low);
        const behind = Math.max(0, Number(BigInt(high) - BigInt(from)));
        lagByPartition[`${spec.topic}-${partition}`] = behind;
        lag += behind;
      }
    } catch {
      // The log is unreachable right now: lag stays unknown in this snapshot.
    }
    return { lag, lagByPartition };
  };

  const collect = async (): Promise<RuntimeStats> => {
    const now = Date.now();
    const eventSources: EventSourceStats[] = [];
    for (const poller of pollers) {
      const { spec, counters } = poller;
      const { lag, lagByPartition } = await lagOf(spec);
      const before = previous.get(poller) ?? { at: Date.parse(startedAt), processed: 0 };
      const seconds = Math.max(0.001, (now - before.at) / 1000);
      const recordsPerSecond =
        Math.round(((counters.recordsProcessed - before.processed) / seconds) * 10) / 10;
      previous.set(poller, { at: now, processed: counters.recordsProcessed });
      eventSources.push({
        functionName: spec.functionName,
        topic: spec.topic,
        consumerGroupId: spec.consumerGroupId,
        lag,
        lagByPartition,
        recordsProcessed: counters.recordsProcessed,
        recordsPerSecond,
        invocations: counters.invocations,
        failedInvocations: counters.failedInvocations,
        recordsSentToDestination: counters.recordsSentToDestination,
        recordsDiscarded: counters.recordsDiscarded,
        lastError: counters.lastError,
        state: poller.state(),
        updatedAt: new Date(now).toISOString(),
      });
    }
    const stats: RuntimeStats = {
      backend: log.backend,
      startedAt,
      updatedAt: new Date(now).toISOString(),
      eventSources,
    };
    entry.latest = stats;
    return stats;
  };

  const publish = async (logLine: boolean) => {
    const stats = await collect();
    try {
      mkdirSync(config.dataDir, { recursive: true });
      // Write then rename, so a reader never sees half a file.
      writeFileSync(`${statsFile}.tmp`, `${JSON.stringify(stats, null, 2)}\n`);
      renameSync(`${statsFile}.tmp`, statsFile);
    } catch (error) {
      runtimeLog.warn(`cannot write ${statsFile}: ${(error as Error).message}`);
    }
    if (logLine) {
      for (const s of stats.eventSources) {
        runtimeLog.info(
          `${s.functionName} ← ${s.topic}: lag ${s.lag ?? "?"}, ${s.recordsPerSecond} records/s, ${s.recordsProcessed} processed, ${s.failedInvocations} failed invocations, ${s.recordsSentToDestination} to destination`,
        );
      }
    }
  };

  const intervalMs = options.statsIntervalMs ?? 10_000;
  const timer =
    intervalMs > 0 && pollers.length > 0
      ? setInterval(() => void publish(true).catch(() => {}), intervalMs)
      : undefined;
  timer?.unref();

  if (pollers.length > 0) {
    runtimeLog.info(
      `started ${pollers.map((p) => `${p.spec.functionName} (${p.spec.kind}: ${p.spec.topic}, group ${p.spec.consumerGroupId})`).join(", ")}`,
    );
  }

  let stopped: Promise<void> | undefined;
  return {
    ready: Promise.all(pollers.map((poller) => poller.ready)).then(() => {}),
    eventSources: specs,
    stats: collect,
    healthChecks: () =>
      pollers.map(
        (poller): HealthCheck => ({
          component: `consumer:${poller.spec.functionName}`,
          async check() {
            // Lag needs the log; a log that does not answer leaves it unknown rather than holding the check.
            let timer: NodeJS.Timeout | undefined;
            const lag = await Promise.race([
              lagOf(poller.spec).then((found) => found.lag),
              new Promise<null>((resolve) => {
                timer = setTimeout(() => resolve(null), LAG_CHECK_TIMEOUT_MS);
              }),
            ]).finally(() => clearTimeout(timer));
            return consumerHealth(poller.state(), lag);
          },
        }),
      ),
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await Promise.all(pollers.map((poller) => poller.stop()));
        await publish(false).catch(() => {});
        running.delete(entry);
      })();
      return stopped;
    },
  };
}

/** How a consumer's state reads in the health model (docs/operations.md). */
export function consumerHealth(state: PollerState, lag: number | null): HealthCheckResult {
  const facts = {
    state: state.state,
    lag,
    lastCommitAt: state.lastCommitAt ?? null,
    attempts: state.attempts,
  };
  switch (state.state) {
    case "running":
      return { status: "ok", reason: "consuming", facts };
    case "starting":
      return { status: "degraded", reason: "joining its consumer group", facts };
    case "retrying":
      return {
        status: "failing",
        reason: `${state.lastError?.startsWith("cannot prepare") ? "cannot prepare its topics" : "its consumer stopped"}; retrying with backoff (attempt ${state.attempts})`,
        detail: state.lastError,
        facts,
      };
    default:
      return { status: "failing", reason: "stopped", facts };
  }
}
