import { rmSync } from "node:fs";
import type { ClickHouseClient } from "@clickhouse/client";
import fc from "fast-check";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJupiter, openSilverStore } from "#functions/jupiter/index.ts";
import { createNeptune, openBronzeStore } from "#functions/neptune/index.ts";
import type { BronzeStore } from "#functions/neptune/store.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { type EventLog, openEventLog } from "#shared/event-log/index.ts";
import { eventLogDeadLetterSink } from "#shared/lambda/index.ts";
import { loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import {
  expectedDeadLetter,
  type FuzzRecord,
  goodPings,
  mixedBatch,
  seedCorpus,
} from "#test/helpers/hostile-records.ts";
import { kafkaBrokers } from "#test/helpers/kafka.ts";
import { icebirdRead } from "#test/helpers/neptune-readers.ts";
import { headerText, isolatedEnv, readTopic } from "#test/helpers/platform.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * Hostile records on the `sessions` topic, consumed the way `npm start` consumes them: the event-source
 * runtime hands Jupiter and Neptune their batches in process (not through base64), from the embedded log
 * or from a real Kafka broker (written there with kafkajs as any producer could: null values, binary
 * headers, 64-bit timestamps). No invocation fails, every good record reaches silver and bronze, every
 * hostile one is on the dead-letter topic with the reason from the function that could not use it, and the
 * groups catch up.
 */

/** Kafka's largest timestamp (2^63 - 1), which a JavaScript number reads as 2^63. */
const MAX_KAFKA_TIMESTAMP = "9223372036854775807";

/** A value that is not JSON, just under Kafka's default message size limit (1,048,588 bytes a batch). */
const nearKafkaLimit = (): FuzzRecord => ({
  label: "a value of 1,048,400 bytes",
  topic: "sessions",
  key: null,
  value: Buffer.alloc(1_048_400, 120).toString("base64"),
  headers: [],
  timestamp: Date.parse("2026-11-29T10:00:00Z"),
  expect: { jupiter: "dead", neptune: "dead" },
});

type Appended = { topic: string; partition: number; offset: string }[];

const backends = [
  { backend: "embedded" as const, skip: false },
  { backend: "kafka" as const, skip: !kafkaBrokers() },
];

describe.each(backends)(
  "Jupiter and Neptune under hostile records through the event-source runtime on the $backend log",
  ({ backend, skip }) => {
    let env: Record<string, string>;
    let config: PacketPulseConfig;
    let log: EventLog;
    let clickhouse: ClickHouseClient;
    let store: BronzeStore;

    beforeAll(async () => {
      if (skip) return;
      env = isolatedEnv(backend, backend === "embedded" ? { KAFKA_BOOTSTRAP_SERVERS: "" } : {});
      config = loadConfig(env);
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
      if (env) rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
    });

    /** Appends the corpus to the embedded log (header values as text, as the log takes them). */
    function append(corpus: FuzzRecord[]): Promise<Appended> {
      return log.append(
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
    }

    /**
     * Produces the corpus to partition 0 with kafkajs, one record at a time, bytes as they are (null values,
     * binary headers). A record the broker refuses (over its message size limit, or a timestamp beyond its
     * bounds) cannot be on the topic: it is left out of the corpus.
     */
    async function produce(corpus: FuzzRecord[]): Promise<{ kept: FuzzRecord[]; appended: Appended }> {
      const kafka = new Kafka({ clientId: "fuzz", brokers: kafkaBrokers()!, logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      const kept: FuzzRecord[] = [];
      const appended: Appended = [];
      try {
        for (const record of corpus) {
          const message = {
            partition: 0,
            key: record.key === null ? null : Buffer.from(record.key, "base64"),
            value: record.value === null ? null : Buffer.from(record.value, "base64"),
            headers: Object.fromEntries(
              record.headers.flatMap((header) =>
                Object.entries(header).map(([name, bytes]) => [name, Buffer.from(bytes)]),
              ),
            ),
            timestamp: Number.isSafeInteger(record.timestamp)
              ? String(record.timestamp)
              : MAX_KAFKA_TIMESTAMP,
          };
          try {
            const [sent] = await producer.send({
              topic: config.topics.sessions,
              acks: -1,
              messages: [message],
            });
            kept.push(record);
            appended.push({ topic: config.topics.sessions, partition: 0, offset: String(sent!.baseOffset) });
          } catch (error) {
            const refusal = (error as { type?: string }).type ?? "";
            if (!["MESSAGE_TOO_LARGE", "INVALID_TIMESTAMP"].includes(refusal)) throw error;
          }
        }
        return { kept, appended };
      } finally {
        await producer.disconnect();
      }
    }

    it.skipIf(skip)(
      "keeps every good record, dead-letters every hostile one, and no invocation fails",
      async () => {
        // Prepare: the seed corpus, a fixed sample of generated batches and a run of good pings, in one
        // stream on the sessions topic. The embedded log refuses timestamps beyond 2^53: only a Kafka
        // producer writes them.
        const generated: FuzzRecord[] = [
          ...seedCorpus(),
          // Just under the broker's default message size limit: its dead letter cannot be a whole copy.
          nearKafkaLimit(),
          ...fc.sample(mixedBatch, { numRuns: 40, seed: 20261206 }).flat(),
          ...goodPings(300),
        ]
          .filter((record) => backend === "kafka" || Number.isSafeInteger(record.timestamp))
          .map((record) => ({ ...record, topic: config.topics.sessions }));
        const { kept: corpus, appended } =
          backend === "kafka"
            ? await produce(generated)
            : { kept: generated, appended: await append(generated) };
        expect(corpus.length).toBeGreaterThan(generated.length - 20);
        const source = (i: number) =>
          `${appended[i]!.topic}-${appended[i]!.partition}@${appended[i]!.offset}`;
        const jupiter = createJupiter({
          clickhouse,
          deadLetter: eventLogDeadLetterSink(log, config.topics.deadLetter, "jupiter"),
        });
        const neptune = createNeptune({
          table: store.table,
          deadLetter: eventLogDeadLetterSink(log, config.topics.deadLetter, "neptune"),
        });

        // Act: run both event sources until their groups have no lag.
        const runtime = await startEventSources({
          config,
          log,
          serverlessConfig: loadServerlessFile("serverless.yml", { env: { ...process.env, ...env } }),
          functions: ["jupiter", "neptune"],
          handlers: { jupiter, neptune },
          statsIntervalMs: 0,
          say: () => {},
        });
        const sources = await waitUntil(
          async () => {
            const current = (await runtime.stats()).eventSources;
            return current.every((s) => s.lag === 0 && s.recordsProcessed >= corpus.length)
              ? current
              : undefined;
          },
          "both event sources caught up",
          90_000,
          { pollMs: 200 },
        ).finally(() => runtime.stop());

        // Assess: both caught up without a failed invocation or a record sent elsewhere.
        expect(sources.map((s) => s.functionName).sort()).toEqual(["jupiter", "neptune"]);
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
          new Map(
            letters
              .filter(
                (letter) => headerText(letter, "rejected_by") === name && headerText(letter, "error_reason"),
              )
              .map((letter) => [headerText(letter, "source_record"), letter]),
          );
        const dead = { jupiter: deadBy("jupiter"), neptune: deadBy("neptune") };
        /** The letter of record i by `name` holds its bytes (the first 64 KiB of a longer value). */
        const deadLettered = (name: "jupiter" | "neptune", i: number) => {
          const letter = dead[name].get(source(i));
          if (!letter) return false;
          const expected = expectedDeadLetter(corpus[i]!);
          return (
            (letter.value ?? Buffer.alloc(0)).equals(expected.value) &&
            headerText(letter, "original_value_bytes") === expected.originalValueBytes
          );
        };
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
          if (record.expect.jupiter === "dead") {
            expect(deadLettered("jupiter", i), `${what}: silver DLQ`).toBe(true);
          } else {
            expect(dead.jupiter.has(source(i)), `${what}: not in silver's DLQ`).toBe(false);
            if (record.eventId) expect(silverIds.has(record.eventId), `${what}: a silver row`).toBe(true);
          }
          if (record.expect.neptune === "dead") {
            expect(deadLettered("neptune", i), `${what}: bronze DLQ`).toBe(true);
          } else {
            expect(dead.neptune.has(source(i)), `${what}: not in bronze's DLQ`).toBe(false);
            expect(bronze.has(source(i)), `${what}: a bronze row`).toBe(true);
          }
        });
        expect(bronze.size).toBe(corpus.filter((record) => record.expect.neptune === "kept").length);
      },
      180_000,
    );
  },
);
