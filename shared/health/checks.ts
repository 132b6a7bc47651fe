import type { ClickHouseClient } from "@clickhouse/client";
import type { EventLog } from "#shared/event-log/types.ts";
import type { HealthCheck, HealthCheckResult } from "./types.ts";

/**
 * The event log: failing when it cannot be reached (Kafka) or read and written (the embedded file);
 * degraded when its last append failed and none has succeeded since.
 */
export function eventLogCheck(log: EventLog): HealthCheck {
  return {
    component: "event-log",
    async check(): Promise<HealthCheckResult> {
      const health = await log.health();
      const what = health.backend === "kafka" ? "Kafka" : "the embedded log file";
      if (!health.ok) {
        return {
          status: "failing",
          reason:
            health.backend === "kafka" ? "Kafka is unreachable" : "the embedded log file cannot be used",
          detail: health.detail,
          facts: { backend: health.backend },
        };
      }
      if (health.lastAppendError) {
        return {
          status: "degraded",
          reason: `the last append to ${what} failed (${health.lastAppendError.at}); devices were told to resend`,
          detail: `${health.detail}; ${health.lastAppendError.message}`,
          facts: { backend: health.backend, lastAppendErrorAt: health.lastAppendError.at },
        };
      }
      return {
        status: "ok",
        reason: `${what} is reachable and writable`,
        detail: health.detail,
        facts: { backend: health.backend },
      };
    },
  };
}

/** ClickHouse (silver and gold): failing when a trivial query does not succeed. */
export function clickhouseCheck(clickhouse: ClickHouseClient): HealthCheck {
  return {
    component: "clickhouse",
    async check(): Promise<HealthCheckResult> {
      try {
        await (await clickhouse.query({ query: "SELECT 1", format: "JSONEachRow" })).json();
        return { status: "ok", reason: "answers queries" };
      } catch (error) {
        return { status: "failing", reason: "does not answer queries", detail: (error as Error).message };
      }
    },
  };
}
