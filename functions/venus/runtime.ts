import path from "node:path";
import { type PacketPulseConfig, requireOwnApiKey } from "#shared/config/index.ts";
import { readParameter } from "#shared/config/parameters.ts";
import { EventLogError } from "#shared/errors.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import type { HealthCheck, HealthCheckResult } from "#shared/health/types.ts";
import { logger } from "#shared/logging/index.ts";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { type ConnectionStore, DynamoConnectionStore, SqliteConnectionStore } from "./connection-store.ts";
import { Venus } from "./ingest.ts";

const venusLines = logger("venus");

export interface VenusRuntime {
  venus: Venus;
  log: EventLog;
  connections: ConnectionStore;
  /** `venus`: failing while its topics could not be prepared (the log unreachable at start). */
  healthCheck(): HealthCheck;
  close(): Promise<void>;
}

export interface VenusRuntimeOptions {
  /** The process's event log, when it already owns one (the embedded platform shares one). */
  log?: EventLog;
  /**
   * Keep trying to prepare the topics in the background instead of failing the start (a long-running
   * process, `npm start`); appends are refused, and devices told to resend, until the topics are ready.
   */
  retryTopics?: { backoff: { initialMs: number; maxMs: number } };
  /** Remove connection rows left by an earlier process (only the data folder's owner may: `npm start`). */
  clearStaleConnections?: boolean;
}

export async function openConnectionStore(config: PacketPulseConfig): Promise<ConnectionStore> {
  return config.venus.connectionStore === "dynamodb"
    ? DynamoConnectionStore.open({
        table: config.venus.connectionsTable,
        region: config.aws.region,
        endpoint: config.aws.endpoint,
      })
    : SqliteConnectionStore.open(path.join(config.dataDir, "venus-connections.sqlite"));
}

/**
 * Builds Venus from configuration. `log` may be passed in when the process already owns one (the embedded
 * platform shares a single event log between Venus and the consumers).
 */
export async function openVenusRuntime(
  config: PacketPulseConfig,
  shared?: VenusRuntimeOptions,
): Promise<VenusRuntime> {
  requireOwnApiKey(config);
  // Deployed stages name an SSM parameter instead of carrying the key in their environment.
  const apiKey = config.venus.apiKeyParameter
    ? await readParameter(config.venus.apiKeyParameter, {
        region: config.aws.region,
        endpoint: config.aws.endpoint,
      })
    : config.venus.apiKey;
  const log = shared?.log ?? (await openEventLog(config));
  const topics = [
    { topic: config.topics.sessions, partitions: config.topics.partitions },
    { topic: config.topics.deadLetter, partitions: config.topics.partitions },
  ];
  let topicsError: string | undefined;
  let stopped = false;
  let retrying: Promise<void> | undefined;
  const wake = new AbortController();
  let venusLog: EventLog = log;
  if (!shared?.retryTopics) {
    await log.ensureTopics(topics);
  } else {
    const { backoff } = shared.retryTopics;
    try {
      await log.ensureTopics(topics);
    } catch (error) {
      topicsError = (error as Error).message;
      venusLines.warn(`cannot prepare ${topics.map((t) => t.topic).join(", ")}: ${topicsError}; retrying`);
      // Until the topics exist, an append must not create them with the broker's defaults: refuse it.
      venusLog = guardedLog(log, () => topicsError);
      retrying = (async () => {
        for (let attempt = 1; !stopped && topicsError !== undefined; attempt++) {
          await sleep(backoffDelay(attempt, backoff), wake.signal).catch(() => {});
          if (stopped) return;
          try {
            await log.ensureTopics(topics);
            topicsError = undefined;
            venusLines.info("topics ready; accepting events");
          } catch (retryError) {
            topicsError = (retryError as Error).message;
          }
        }
      })();
    }
  }
  const connections = await openConnectionStore(config);
  if (shared?.clearStaleConnections && connections instanceof SqliteConnectionStore) {
    const removed = connections.clearAll();
    if (removed > 0) venusLines.info(`removed ${removed} connection row(s) left by an earlier run`);
  }
  const venus = new Venus({
    log: venusLog,
    connections,
    apiKey,
    topics: config.topics,
    limits: config.venus.limits,
  });
  return {
    venus,
    log,
    connections,
    healthCheck: () => ({
      component: "venus",
      async check(): Promise<HealthCheckResult> {
        return topicsError === undefined
          ? { status: "ok", reason: "accepting events" }
          : {
              status: "failing",
              reason: "cannot prepare its topics; devices are told to resend; retrying with backoff",
              detail: topicsError,
            };
      },
    }),
    async close() {
      stopped = true;
      wake.abort();
      await retrying;
      await connections.close();
      if (!shared?.log) await log.close();
    },
  };
}

/** The log with appends refused while `notReady()` names a reason. */
function guardedLog(log: EventLog, notReady: () => string | undefined): EventLog {
  return {
    backend: log.backend,
    ensureTopics: (topics) => log.ensureTopics(topics),
    partitionCount: (topic) => log.partitionCount(topic),
    append: (topic, records) => {
      const reason = notReady();
      return reason === undefined
        ? log.append(topic, records)
        : Promise.reject(new EventLogError(`the event log's topics are not ready yet (${reason})`));
    },
    consume: (options) => log.consume(options),
    offsets: (topic) => log.offsets(topic),
    committedOffsets: (groupId, topic) => log.committedOffsets(groupId, topic),
    health: () => log.health(),
    close: () => log.close(),
  };
}
