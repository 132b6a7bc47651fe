import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import { HealthModel } from "#shared/health/index.ts";
import { type EventSourceRuntime, type ServerlessService, startEventSources } from "#shared/runtime/index.ts";
import { isolatedEnv } from "#test/helpers/platform.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * An event source mapping whose log fails it keeps trying (issue 14: it used to return after one failed
 * `ensureTopics` and never consume). The log here is the real embedded log, with its first preparations
 * refused as an unreachable broker refuses them.
 */

/** The log, with `ensureTopics` failing until `failures` calls have been refused. */
function refusingTopics(log: EventLog, failures: number): EventLog & { refused: () => number } {
  let refused = 0;
  return {
    backend: log.backend,
    refused: () => refused,
    ensureTopics: (topics) => {
      if (refused < failures) {
        refused++;
        return Promise.reject(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9"));
      }
      return log.ensureTopics(topics);
    },
    partitionCount: (topic) => log.partitionCount(topic),
    append: (topic, records) => log.append(topic, records),
    consume: (options) => log.consume(options),
    offsets: (topic) => log.offsets(topic),
    committedOffsets: (group, topic) => log.committedOffsets(group, topic),
    health: () => log.health(),
    close: () => log.close(),
  };
}

describe("an event source whose log fails at start", () => {
  let config: PacketPulseConfig;
  let log: EventLog;
  let runtime: EventSourceRuntime | undefined;

  afterEach(async () => {
    await runtime?.stop();
    await log?.close();
    if (config) rmSync(config.dataDir, { recursive: true, force: true });
  });

  it("keeps retrying with backoff, then consumes every record, and its health goes failing → ok", async () => {
    // Prepare
    config = loadConfig(isolatedEnv("embedded"));
    log = await openEventLog(config);
    const topic = `retry-${randomUUID().slice(0, 8)}`;
    const flaky = refusingTopics(log, 4);
    const lines: string[] = [];
    const seen: string[] = [];
    const service: ServerlessService = {
      service: "packetpulse",
      provider: { timeout: 29 },
      functions: {
        probe: {
          handler: "dist/functions/probe/handler.handler",
          events: [
            {
              msk: {
                arn: "arn:aws:kafka:us-east-1:123456789012:cluster/test/abc-1",
                topic,
                consumerGroupId: `retry-group-${randomUUID().slice(0, 8)}`,
                maximumBatchingWindow: 0,
              },
            },
          ],
        },
      },
    };

    // Act
    runtime = await startEventSources({
      config,
      log: flaky,
      serverlessConfig: service,
      handlers: {
        probe: async (event) => {
          for (const records of Object.values(event.records)) {
            for (const record of records) seen.push(Buffer.from(record.value, "base64").toString());
          }
        },
      },
      backoff: { initialMs: 20, maxMs: 200 },
      statsIntervalMs: 0,
      say: (line) => lines.push(line),
    });
    const health = new HealthModel(runtime.healthChecks());
    await runtime.ready;
    const during = await health.check();
    await log.append(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `device-${i % 5}`, value: `record-${i}` })),
    );
    await waitUntil(() => seen.length >= 50, "every record delivered");
    const after = await health.check();
    const stats = await runtime.stats();

    // Assess
    expect(flaky.refused()).toBe(4);
    const retries = lines.filter((line) => line.startsWith(`probe: cannot prepare ${topic}:`));
    expect(retries).toHaveLength(4);
    expect(retries[0]).toMatch(/ECONNREFUSED 127\.0\.0\.1:9; retrying in 20 ms$/);
    expect(retries[3]).toMatch(/; retrying in 160 ms$/);
    expect(during.components).toMatchObject([{ component: "consumer:probe", status: "failing" }]);
    expect(after.components).toMatchObject([
      { component: "consumer:probe", status: "ok", facts: { lag: 0 } },
    ]);
    expect([...seen].sort()).toEqual(Array.from({ length: 50 }, (_, i) => `record-${i}`).sort());
    expect(stats.eventSources[0]!.state).toMatchObject({ state: "running", attempts: 0 });
    expect(stats.eventSources[0]!.state!.lastCommitAt).toBeDefined();
  });
});
