import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import type { EventLog, LogRecordInput } from "#shared/event-log/types.ts";
import { IN_PROCESS_EVENT_SOURCE, type InProcessKafkaEvent } from "#shared/lambda/index.ts";
import {
  type EventSourceRuntime,
  FAILURE_HEADERS,
  type KafkaEvent,
  type KafkaHandler,
  RUNTIME_STATS_FILE,
  type ServerlessService,
  startEventSources,
} from "#shared/runtime/index.ts";
import { readFixture, replayNdjson } from "#shared/runtime/replay.ts";
import { headerText, isolatedEnv, logBackends, readTopic } from "#test/helpers/platform.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/** What a test handler saw: each invocation's records, decoded. */
interface SeenRecord {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

const decode = (event: KafkaEvent): SeenRecord[] =>
  Object.values(event.records)
    .flat()
    .map((record) => ({
      partition: record.partition,
      offset: record.offset,
      key: Buffer.from(record.key ?? "", "base64").toString(),
      value: Buffer.from(record.value, "base64").toString(),
    }));

function recorder(behaviour: (records: SeenRecord[], call: number) => unknown = () => undefined) {
  const invocations: { at: number; records: SeenRecord[]; event: KafkaEvent }[] = [];
  const handler: KafkaHandler = async (event) => {
    const records = decode(event);
    invocations.push({ at: Date.now(), records, event });
    return behaviour(records, invocations.length) as Awaited<ReturnType<KafkaHandler>>;
  };
  return { handler, invocations, values: () => invocations.flatMap((i) => i.records.map((r) => r.value)) };
}

const records = (values: string[], key = "device-1"): LogRecordInput[] =>
  values.map((value) => ({ key, value, headers: { event_id: `id-${value}` } }));

describe.each(logBackends())("event-source runtime on the %s log", (backend) => {
  let config: PacketPulseConfig;
  let log: EventLog;
  let runtimes: EventSourceRuntime[] = [];

  async function setUp(partitions = 1) {
    config = loadConfig(isolatedEnv(backend));
    log = await openEventLog(config);
    const topic = `rt-${randomUUID().slice(0, 8)}`;
    await log.ensureTopics([{ topic, partitions }]);
    return topic;
  }

  function service(topic: string, event: Record<string, unknown>, kind: "msk" | "kafka" = "msk") {
    const common = { topic, consumerGroupId: `rt-group-${randomUUID().slice(0, 8)}`, ...event };
    const source =
      kind === "msk"
        ? { arn: "arn:aws:kafka:us-east-1:123456789012:cluster/test/abc-1", ...common }
        : { bootstrapServers: ["kafka-1.example.com:9092"], ...common };
    return {
      service: "packetpulse",
      provider: { timeout: 29 },
      functions: { probe: { handler: "dist/functions/probe/handler.handler", events: [{ [kind]: source }] } },
    } satisfies ServerlessService;
  }

  async function start(
    serverlessConfig: ServerlessService,
    handler: KafkaHandler,
    backoff = { initialMs: 10, maxMs: 50 },
  ) {
    const runtime = await startEventSources({
      config,
      log,
      serverlessConfig,
      handlers: { probe: handler },
      backoff,
      statsIntervalMs: 0,
      say: () => {},
    });
    runtimes.push(runtime);
    await runtime.ready;
    return runtime;
  }

  const committed = async (group: string, topic: string) =>
    (await log.committedOffsets(group, topic)).map((c) => c.offset);

  afterEach(async () => {
    await Promise.allSettled(runtimes.map((runtime) => runtime.stop()));
    runtimes = [];
    await log?.close();
    if (config) rmSync(config.dataDir, { recursive: true, force: true });
  });

  it("delivers records in the MSK event shape", async () => {
    // Prepare
    const topic = await setUp();
    const probe = recorder();
    await start(service(topic, { maximumBatchingWindow: 0 }), probe.handler);
    const fixture = readFixture("events/kafka/msk-sessions.json");

    // Act
    await log.append(topic, [{ key: "device-1", value: '{"a":1}', headers: { event_id: "e-1" } }]);
    await waitUntil(() => probe.invocations.length > 0, "an invocation");

    // Assess
    const event = probe.invocations[0]!.event;
    expect(fixture.kind).toBe("kafka-event");
    const expected = fixture.kind === "kafka-event" ? fixture.event : undefined;
    expect(Object.keys(event)).toEqual(Object.keys(expected!));
    expect(event).toMatchObject({
      eventSource: "aws:kafka",
      eventSourceArn: "arn:aws:kafka:us-east-1:123456789012:cluster/test/abc-1",
    });
    const record = event.records[`${topic}-0`]![0]!;
    expect(Object.keys(record)).toEqual(Object.keys(Object.values(expected!.records)[0]![0]!));
    expect(record).toMatchObject({
      topic,
      partition: 0,
      offset: 0,
      timestampType: "CREATE_TIME",
      key: Buffer.from("device-1").toString("base64"),
      value: Buffer.from('{"a":1}').toString("base64"),
      headers: [{ event_id: [...Buffer.from("e-1")] }],
    });
    expect(Math.abs(record.timestamp - Date.now())).toBeLessThan(60_000);
  });

  it("hands a handler with an inProcess entry the log's records through it, and never Lambda's event", async () => {
    // Prepare
    const topic = await setUp();
    const lambdaEvents: unknown[] = [];
    const inProcess: InProcessKafkaEvent[] = [];
    const handler: KafkaHandler = Object.assign(
      async (event: unknown) => {
        lambdaEvents.push(event);
      },
      {
        inProcess: async (event: InProcessKafkaEvent) => {
          inProcess.push(event);
        },
      },
    );
    await start(service(topic, { maximumBatchingWindow: 0 }), handler);

    // Act
    await log.append(topic, [{ key: "device-1", value: '{"a":1}', headers: { event_id: "e-1" } }]);
    await waitUntil(() => inProcess.length > 0, "an in-process invocation");

    // Assess
    expect(lambdaEvents).toEqual([]);
    const [record] = inProcess[0]!.records;
    expect(inProcess[0]!.eventSource).toBe(IN_PROCESS_EVENT_SOURCE);
    expect(record).toMatchObject({ topic, partition: 0, offset: 0 });
    expect(record!.key?.toString()).toBe("device-1");
    expect(record!.value.toString()).toBe('{"a":1}');
    expect(record!.headers.event_id?.toString()).toBe("e-1");
  });

  it("delivers records in the self-managed Kafka event shape", async () => {
    // Prepare
    const topic = await setUp();
    const probe = recorder();
    await start(service(topic, { maximumBatchingWindow: 0 }, "kafka"), probe.handler);

    // Act
    await log.append(topic, records(["one"]));
    await waitUntil(() => probe.invocations.length > 0, "an invocation");

    // Assess
    const event = probe.invocations[0]!.event;
    expect(Object.keys(event)).toEqual(["eventSource", "bootstrapServers", "records"]);
    expect(event).toMatchObject({
      eventSource: "SelfManagedKafka",
      bootstrapServers: "kafka-1.example.com:9092",
    });
  });

  it("batches up to batchSize records per invocation", async () => {
    // Prepare
    const topic = await setUp();
    await log.append(topic, records(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]));
    const probe = recorder();

    // Act
    await start(service(topic, { batchSize: 4, maximumBatchingWindow: 0 }), probe.handler);
    await waitUntil(() => probe.values().length >= 10, "ten records");

    // Assess
    expect(probe.invocations.map((i) => i.records.length)).toEqual([4, 4, 2]);
    expect(probe.values()).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  it("fills each invocation up to the 6 MB payload limit and invokes a full one without waiting", async () => {
    // Prepare: 60 records of 200 KB (about 267 KB each in the event, base64): 23 fit in one invocation.
    const topic = await setUp();
    const big = (i: number) => `${String(i).padStart(2, "0")}${"p".repeat(200_000 - 2)}`;
    const probe = recorder();
    const appendedAt = Date.now();
    for (let i = 0; i < 60; i += 10) {
      await log.append(
        topic,
        Array.from({ length: 10 }, (_, k) => ({ key: "device-1", value: big(i + k) })),
      );
    }

    // Act
    await start(service(topic, { batchSize: 30, maximumBatchingWindow: 3 }), probe.handler);
    await waitUntil(() => probe.values().length >= 60, "sixty records");

    // Assess: every record once and in order, every event within the limit.
    expect(probe.values().map((v) => v.slice(0, 2))).toEqual(
      Array.from({ length: 60 }, (_, i) => big(i).slice(0, 2)),
    );
    for (const { event } of probe.invocations) {
      expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(6 * 1024 * 1024);
    }
    if (backend === "embedded") {
      // A fetch stops where the payload does, and the next one carries on from there: not 23 + 7 per fetch
      // of batchSize 30. The full ones went at once; only the last waited for the batching window.
      expect(probe.invocations.map((i) => i.records.length)).toEqual([23, 23, 14]);
      expect(probe.invocations[1]!.at - appendedAt).toBeLessThan(2_500);
      expect(probe.invocations[2]!.at - appendedAt).toBeGreaterThanOrEqual(2_800);
    }
  });

  it("waits for the batching window before invoking with a small batch", async () => {
    // Prepare
    const topic = await setUp();
    const probe = recorder();
    await start(service(topic, { batchSize: 100, maximumBatchingWindow: 0.8 }), probe.handler);

    // Act
    const appendedAt = Date.now();
    await log.append(topic, records(["a", "b", "c"]));
    await waitUntil(() => probe.values().length >= 3, "three records");

    // Assess
    expect(probe.invocations).toHaveLength(1);
    expect(probe.invocations[0]!.at - appendedAt).toBeGreaterThanOrEqual(700);
  });

  it("keeps each partition's records in offset order", async () => {
    // Prepare
    const topic = await setUp(3);
    const input: LogRecordInput[] = Array.from({ length: 60 }, (_, i) => ({
      key: `device-${i % 6}`,
      value: `${i % 6}:${i}`,
    }));
    const probe = recorder();
    await start(service(topic, { batchSize: 7, maximumBatchingWindow: 0 }), probe.handler);

    // Act
    for (let i = 0; i < input.length; i += 10) await log.append(topic, input.slice(i, i + 10));
    await waitUntil(() => probe.values().length >= 60, "sixty records");

    // Assess
    const seen = probe.invocations.flatMap((i) => i.records);
    for (const partition of [0, 1, 2]) {
      const offsets = seen.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(offsets.length);
    }
    for (let device = 0; device < 6; device++) {
      const order = seen
        .filter((r) => r.key === `device-${device}`)
        .map((r) => Number(r.value.split(":")[1]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it("commits offsets only after the handler succeeds", async () => {
    // Prepare
    const topic = await setUp();
    const wiring = service(topic, { maximumBatchingWindow: 0 });
    const group = wiring.functions.probe.events[0]!.msk!.consumerGroupId;
    const failing = recorder(() => {
      throw new Error("database down");
    });
    const first = await start(wiring, failing.handler);
    await log.append(topic, records(["a", "b", "c"]));
    await waitUntil(() => failing.invocations.length >= 2, "a retried invocation");
    await first.stop();
    const committedWhileFailing = await committed(group, topic);

    // Act
    const healthy = recorder();
    await start(wiring, healthy.handler);
    await waitUntil(() => healthy.values().length >= 3, "re-delivery");

    // Assess
    expect(committedWhileFailing).toEqual([null]);
    expect(healthy.values()).toEqual(["a", "b", "c"]);
    await waitUntil(async () => (await committed(group, topic))[0] === "3", "the commit after success");
  });

  it("retries from the lowest failed offset of a partial batch response", async () => {
    // Prepare
    const topic = await setUp();
    const probe = recorder((batch, call) =>
      call === 1
        ? {
            batchItemFailures: [batch[4]!, batch[2]!].map((r) => ({
              itemIdentifier: { partition: `${topic}-${r.partition}`, offset: r.offset },
            })),
          }
        : { batchItemFailures: [] },
    );
    const wiring = service(topic, {
      maximumBatchingWindow: 0,
      functionResponseTypes: ["ReportBatchItemFailures"],
    });
    await log.append(topic, records(["0", "1", "2", "3", "4", "5"]));

    // Act
    await start(wiring, probe.handler);
    await waitUntil(() => probe.invocations.length >= 2, "the retry");

    // Assess
    expect(probe.invocations[1]!.records.map((r) => r.value)).toEqual(["2", "3", "4", "5"]);
    const group = wiring.functions.probe.events[0]!.msk!.consumerGroupId;
    await waitUntil(async () => (await committed(group, topic))[0] === "6", "the commit");
  });

  it("bisects a failing batch and sends the poison record to the on-failure topic", async () => {
    // Prepare
    const topic = await setUp();
    const destination = `${topic}-failures`;
    const probe = recorder((batch) => {
      if (batch.some((r) => r.value === "poison")) throw new Error("cannot parse poison");
    });
    await log.append(topic, records(["a", "b", "poison", "d"]));

    // Act
    await start(
      service(topic, {
        maximumBatchingWindow: 0,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 1,
        destinationConfig: { onFailure: { destination: `kafka://${destination}` } },
      }),
      probe.handler,
    );
    await waitUntil(
      () => probe.values().includes("d") && probe.invocations.at(-1)!.records[0]!.value === "d",
      "d",
    );

    // Assess
    expect(probe.invocations.map((i) => i.records.map((r) => r.value).join(","))).toEqual([
      "a,b,poison,d",
      "a,b",
      "poison,d",
      "poison",
      "poison",
      "d",
    ]);
    const failed = await readTopic(log, destination);
    expect(failed.map((r) => r.value?.toString())).toEqual(["poison"]);
    expect(headerText(failed[0]!, FAILURE_HEADERS.reason)).toBe("RetryAttemptsExhausted");
    expect(headerText(failed[0]!, FAILURE_HEADERS.error)).toBe("cannot parse poison");
    expect(headerText(failed[0]!, FAILURE_HEADERS.sourceOffset)).toBe("2");
    expect(headerText(failed[0]!, "event_id")).toBe("id-poison");
  });

  it("retries with backoff, then sends the batch to the on-failure topic and moves on", async () => {
    // Prepare
    const topic = await setUp();
    const destination = `${topic}-failures`;
    const probe = recorder((batch) => {
      if (batch.some((r) => r.value === "bad")) throw new Error("boom");
    });
    const wiring = service(topic, {
      maximumBatchingWindow: 0,
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: `kafka://${destination}` } },
    });
    const runtime = await start(wiring, probe.handler, { initialMs: 150, maxMs: 1_000 });

    // Act
    await log.append(topic, records(["bad"]));
    await waitUntil(() => probe.invocations.length >= 3, "three attempts");
    await log.append(topic, records(["good"]));
    await waitUntil(() => probe.values().includes("good"), "the next record");

    // Assess
    expect(probe.values()).toEqual(["bad", "bad", "bad", "good"]);
    const gaps = probe.invocations.slice(1, 3).map((inv, i) => inv.at - probe.invocations[i]!.at);
    expect(gaps[0]!).toBeGreaterThanOrEqual(140);
    expect(gaps[1]!).toBeGreaterThanOrEqual(290);
    const failed = await readTopic(log, destination);
    expect(failed.map((r) => headerText(r, FAILURE_HEADERS.reason))).toEqual(["RetryAttemptsExhausted"]);
    expect(headerText(failed[0]!, FAILURE_HEADERS.retryAttempts)).toBe("2");
    await waitUntil(async () => (await runtime.stats()).eventSources[0]!.lag === 0, "no lag");
    const stats = (await runtime.stats()).eventSources[0]!;
    expect(stats).toMatchObject({ recordsProcessed: 2, failedInvocations: 3, recordsSentToDestination: 1 });
  });

  it("sends records older than maximumRecordAgeInSeconds to the on-failure topic without invoking", async () => {
    // Prepare
    const topic = await setUp();
    const destination = `${topic}-failures`;
    const probe = recorder();
    await start(
      service(topic, {
        maximumBatchingWindow: 0,
        maximumRecordAgeInSeconds: 60,
        destinationConfig: { onFailure: { destination: `kafka://${destination}` } },
      }),
      probe.handler,
    );

    // Act
    await log.append(topic, [
      { key: "device-1", value: "stale", timestamp: Date.now() - 120_000 },
      { key: "device-1", value: "fresh" },
    ]);
    await waitUntil(() => probe.values().includes("fresh"), "the fresh record");

    // Assess
    expect(probe.values()).toEqual(["fresh"]);
    const failed = await readTopic(log, destination);
    expect(failed.map((r) => [r.value?.toString(), headerText(r, FAILURE_HEADERS.reason)])).toEqual([
      ["stale", "RecordAgeExceeded"],
    ]);
  });

  it("starts a new group at the latest offset with LATEST", async () => {
    // Prepare
    const topic = await setUp();
    await log.append(topic, records(["old"]));
    const probe = recorder();
    await start(service(topic, { maximumBatchingWindow: 0, startingPosition: "LATEST" }), probe.handler);

    // Act
    await log.append(topic, records(["new"]));
    await waitUntil(() => probe.values().length > 0, "the new record");

    // Assess
    expect(probe.values()).toEqual(["new"]);
  });

  it("skips records before startingPositionTimestamp with AT_TIMESTAMP", async () => {
    // Prepare
    const topic = await setUp();
    const cut = Math.floor(Date.now() / 1000) - 60;
    await log.append(topic, [
      { key: "device-1", value: "before", timestamp: (cut - 60) * 1000 },
      { key: "device-1", value: "after", timestamp: (cut + 30) * 1000 },
    ]);
    const probe = recorder();

    // Act
    await start(
      service(topic, {
        maximumBatchingWindow: 0,
        startingPosition: "AT_TIMESTAMP",
        startingPositionTimestamp: cut,
      }),
      probe.handler,
    );
    await waitUntil(() => probe.values().length > 0, "the record after the timestamp");

    // Assess
    expect(probe.values()).toEqual(["after"]);
  });

  it("resumes from committed offsets after a restart", async () => {
    // Prepare
    const topic = await setUp();
    const wiring = service(topic, { maximumBatchingWindow: 0 });
    const before = recorder();
    const first = await start(wiring, before.handler);
    await log.append(topic, records(["1", "2", "3"]));
    await waitUntil(() => before.values().length >= 3, "the first records");
    await first.stop();

    // Act
    await log.append(topic, records(["4", "5"]));
    const after = recorder();
    await start(wiring, after.handler);
    await waitUntil(() => after.values().length >= 2, "the new records");
    // A later record on the same partition: once it is in, anything re-delivered would have come before it.
    await log.append(topic, records(["marker"]));
    await waitUntil(() => after.values().includes("marker"), "the marker record");

    // Assess
    expect(after.values()).toEqual(["4", "5", "marker"]);
  });

  it("writes its statistics to the data folder", async () => {
    // Prepare
    const topic = await setUp();
    const probe = recorder();
    const runtime = await start(service(topic, { maximumBatchingWindow: 0 }), probe.handler);
    await log.append(topic, records(["x", "y"]));
    await waitUntil(() => probe.values().length >= 2, "two records");

    // Act
    await runtime.stop();

    // Assess
    const file = path.join(config.dataDir, RUNTIME_STATS_FILE);
    expect(existsSync(file)).toBe(true);
    const stats = JSON.parse(readFileSync(file, "utf8"));
    expect(stats.eventSources[0]).toMatchObject({
      functionName: "probe",
      topic,
      lag: 0,
      recordsProcessed: 2,
    });
  });

  it("replays an NDJSON fixture to every consumer of the sessions topic", async () => {
    // Prepare
    const topic = await setUp(3);
    const fixture = readFixture("events/fixtures/athens-seed42-v1.ndjson");
    if (fixture.kind !== "ndjson") throw new Error("expected NDJSON");
    const probe = recorder();
    await start(service(topic, { batchSize: 500, maximumBatchingWindow: 0 }), probe.handler);

    // Act
    const count = await replayNdjson(log, topic, fixture.lines);
    await waitUntil(() => probe.values().length >= count, "every replayed record");

    // Assess
    expect(count).toBe(fixture.lines.length);
    expect(new Set(probe.values())).toEqual(new Set(fixture.lines));
    const stored = await readTopic(log, topic);
    const first = stored.find((r) => r.value?.toString() === fixture.lines[0]);
    expect(first?.key?.toString()).toBe(JSON.parse(fixture.lines[0]!).device_id);
    expect(headerText(first!, "schema_version")).toBe("1");
    expect(headerText(first!, "event_id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
