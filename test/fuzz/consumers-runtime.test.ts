import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJupiter, eventLogDeadLetterSink, openSilverStore } from "#functions/jupiter/index.ts";
import { createNeptune, eventLogBronzeDeadLetterSink, openBronzeStore } from "#functions/neptune/index.ts";
import type { BronzeStore } from "#functions/neptune/store.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { type EventLog, openEventLog } from "#shared/log/index.ts";
import { loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import { type FuzzRecord, goodPings, mixedBatch, seedCorpus } from "../helpers/hostile-records.ts";
import { icebirdRead } from "../helpers/neptune-readers.ts";
import { headerText, readTopic } from "../helpers/platform.ts";

/**
 * Hostile records on the embedded log's `sessions` topic, consumed the way `npm start` consumes them: the
 * event-source runtime hands Jupiter and Neptune their batches in process (not through base64). No
 * invocation fails, every good record reaches silver and bronze, every hostile one is on `sessions-dlq`
 * with the reason from the function that could not use it, and the groups catch up.
 */

describe("Jupiter and Neptune under hostile records through the event-source runtime (fuzz corpus)", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-consumers-fuzz-"));
  let config: PacketPulseConfig;
  let log: EventLog;
  let clickhouse: ClickHouseClient;
  let store: BronzeStore;

  beforeAll(async () => {
    config = loadConfig({
      PACKETPULSE_DATA_DIR: dataDir,
      PACKETPULSE_EVENT_LOG: "embedded",
      KAFKA_BOOTSTRAP_SERVERS: "",
    });
    log = await openEventLog(config);
    await log.ensureTopics([
      { topic: config.topics.sessions, partitions: config.topics.partitions },
      { topic: config.topics.deadLetter, partitions: config.topics.partitions },
    ]);
    clickhouse = await openSilverStore(config.clickhouse);
    store = await openBronzeStore(config.bronze);
  });

  afterAll(async () => {
    await store?.close();
    await clickhouse?.close();
    await log?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every good record, dead-letters every hostile one, and no invocation fails", async () => {
    // Prepare: the seed corpus, a fixed sample of generated batches and a run of good pings, in one stream.
    // The embedded log refuses timestamps beyond 2^53 (only a Kafka producer writes them; the MSK event
    // fuzz tests cover those), and its records all are on `sessions`.
    const corpus: FuzzRecord[] = [
      ...seedCorpus(),
      ...fc.sample(mixedBatch, { numRuns: 40, seed: 20261206 }).flat(),
      ...goodPings(300),
    ]
      .filter((record) => Number.isSafeInteger(record.timestamp))
      .map((record) => ({ ...record, topic: "sessions" }));
    const appended = await log.append(
      config.topics.sessions,
      corpus.map((record) => ({
        key: record.key === null ? "" : Buffer.from(record.key, "base64").toString("utf8"),
        value: Buffer.from(record.value ?? "", "base64"),
        headers: Object.fromEntries(
          record.headers.flatMap((header) =>
            Object.entries(header).map(([name, bytes]) => [name, Buffer.from(bytes).toString("utf8")]),
          ),
        ),
        timestamp: record.timestamp,
      })),
    );
    const source = (i: number) => `${appended[i]!.topic}-${appended[i]!.partition}@${appended[i]!.offset}`;
    const jupiter = createJupiter({
      clickhouse,
      deadLetter: eventLogDeadLetterSink(log, config.topics.deadLetter),
    });
    const neptune = createNeptune({
      table: store.table,
      deadLetter: eventLogBronzeDeadLetterSink(log, config.topics.deadLetter),
    });

    // Act: run both event sources until their groups have no lag.
    const runtime = await startEventSources({
      config,
      log,
      serverlessConfig: loadServerlessFile("serverless.yml"),
      functions: ["jupiter", "neptune"],
      handlers: { jupiter, neptune },
      statsIntervalMs: 0,
      say: () => {},
    });
    const deadline = Date.now() + 90_000;
    let sources = (await runtime.stats()).eventSources;
    while (
      Date.now() < deadline &&
      !sources.every((s) => s.lag === 0 && s.recordsProcessed >= corpus.length)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      sources = (await runtime.stats()).eventSources;
    }
    await runtime.stop();

    // Assess: both caught up without a failed invocation or a record sent elsewhere.
    for (const stats of sources) {
      expect(stats, stats.functionName).toMatchObject({
        lag: 0,
        failedInvocations: 0,
        recordsSentToDestination: 0,
        recordsDiscarded: 0,
      });
    }
    const letters = await readTopic(log, config.topics.deadLetter);
    const deadBy = (name: string) =>
      new Set(
        letters
          .filter(
            (letter) => headerText(letter, "rejected_by") === name && headerText(letter, "error_reason"),
          )
          .map((letter) => headerText(letter, "source_record")),
      );
    const dead = { jupiter: deadBy("jupiter"), neptune: deadBy("neptune") };
    const silverIds = new Set(
      (
        await (
          await clickhouse.query({
            query: "SELECT toString(event_id) AS id FROM session_positions",
            format: "JSONEachRow",
          })
        ).json<{ id: string }>()
      ).map((row) => row.id),
    );
    const bronze = new Set(
      (await icebirdRead(store.table.location)).map(
        (row) => `${row.kafka_topic}-${row.kafka_partition}@${row.kafka_offset}`,
      ),
    );
    corpus.forEach((record, i) => {
      const what = `${record.label} at ${source(i)}`;
      if (record.expect.jupiter === "dead")
        expect(dead.jupiter.has(source(i)), `${what}: silver DLQ`).toBe(true);
      else {
        expect(dead.jupiter.has(source(i)), `${what}: not in silver's DLQ`).toBe(false);
        if (record.eventId) expect(silverIds.has(record.eventId), `${what}: a silver row`).toBe(true);
      }
      if (record.expect.neptune === "dead")
        expect(dead.neptune.has(source(i)), `${what}: bronze DLQ`).toBe(true);
      else {
        expect(dead.neptune.has(source(i)), `${what}: not in bronze's DLQ`).toBe(false);
        expect(bronze.has(source(i)), `${what}: a bronze row`).toBe(true);
      }
    });
    expect(bronze.size).toBe(corpus.filter((record) => record.expect.neptune === "kept").length);
  }, 180_000);
});
