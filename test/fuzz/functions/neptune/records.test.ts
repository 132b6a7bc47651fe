import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Context } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BronzeEncoder, createNeptune, openBronzeStore } from "#functions/neptune/index.ts";
import type { BronzeStore } from "#functions/neptune/store.ts";
import { loadConfig } from "#shared/config/index.ts";
import { type EventLog, openEventLog } from "#shared/event-log/index.ts";
import { eventLogDeadLetterSink, KafkaEventError, type SessionsHandler } from "#shared/lambda/index.ts";
import {
  expectedDeadLetter,
  type FuzzRecord,
  goodPings,
  mixedBatch,
  mskEvent,
  seedCorpus,
} from "#test/helpers/hostile-records.ts";
import { chdbQuery, icebirdRead } from "#test/helpers/neptune-readers.ts";
import { headerText, readTopic } from "#test/helpers/platform.ts";

/**
 * Neptune's Kafka handler under hostile records, against a real Iceberg warehouse in a temporary folder and
 * the embedded event log as its dead-letter topic: whatever a batch holds, the handler answers, every record
 * bronze can type is a row exactly once (read back by icebird, and by ClickHouse at the end), and every other
 * record is on `sessions-dlq` with its reason.
 */

const DLQ = "sessions-dlq";
const context = {} as Context;

describe("Neptune's Kafka handler under hostile records (fuzz)", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-neptune-fuzz-"));
  let store: BronzeStore;
  let log: EventLog;
  let neptune: SessionsHandler;
  /** Offsets are unique across runs: the table skips offsets it holds, and a dead letter names one record. */
  let nextOffset = 1_000;
  /** Every record kept so far, by its Kafka coordinates. */
  const keptSoFar = new Map<string, FuzzRecord>();

  beforeAll(async () => {
    const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir, PACKETPULSE_EVENT_LOG: "embedded" });
    store = await openBronzeStore(config.bronze);
    log = await openEventLog(config);
    await log.ensureTopics([{ topic: DLQ, partitions: 1 }]);
    neptune = createNeptune({ table: store.table, deadLetter: eventLogDeadLetterSink(log, DLQ, "neptune") });
  });

  afterAll(async () => {
    await store?.close();
    await log?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const coordinates = (topic: unknown, partition: unknown, offset: unknown) =>
    `${topic}-${partition}@${offset}`;
  const valueText = (record: FuzzRecord) => Buffer.from(record.value ?? "", "base64").toString("utf8");
  let runs = 0;

  async function runBatch(records: FuzzRecord[], handler = neptune): Promise<void> {
    // Prepare
    runs++;
    const firstOffset = nextOffset;
    nextOffset += records.length;
    const source = (i: number) => coordinates(records[i]!.topic, 0, firstOffset + i);

    // Act
    const response = await handler(mskEvent(records, firstOffset), context);

    // Assess: the batch succeeded without listing items (bronze dead-letters instead).
    expect(response).toEqual({ batchItemFailures: [] });
    records.forEach((record, i) => {
      if (record.expect.neptune === "kept") keptSoFar.set(source(i), record);
    });
    const rows = new Map<string, Record<string, unknown>>();
    if (keptSoFar.size > 0) {
      for (const row of await icebirdRead(store.table.location)) {
        const at = coordinates(row.kafka_topic, row.kafka_partition, row.kafka_offset);
        expect(rows.has(at), `one row for ${at}`).toBe(false);
        rows.set(at, row);
      }
    }
    // Exactly the records kept so far, no other.
    expect(new Set(rows.keys())).toEqual(new Set(keptSoFar.keys()));
    const letters = new Map(
      (await readTopic(log, DLQ))
        .filter((letter) => headerText(letter, "rejected_by") === "neptune")
        .map((letter) => [headerText(letter, "source_record"), letter]),
    );
    records.forEach((record, i) => {
      const letter = letters.get(source(i));
      const what = `${record.label} at ${source(i)}`;
      if (record.expect.neptune === "kept") {
        // The raw payload as it came, byte for byte.
        expect(rows.get(source(i))?.payload === valueText(record), `${what} keeps its payload`).toBe(true);
        if (record.eventId) expect(rows.get(source(i))?.event_id).toBe(record.eventId);
        expect(letter, `${what} is not dead-lettered`).toBeUndefined();
      } else {
        expect(letter, `${what} is dead-lettered`).toBeDefined();
        // The dead letter holds the record's bytes as they were (the first 64 KiB of a longer value).
        const expected = expectedDeadLetter(record);
        expect(letter!.value!.equals(expected.value), `${what} keeps its value`).toBe(true);
        expect(headerText(letter!, "original_value_bytes"), `${what}'s size`).toBe(
          expected.originalValueBytes,
        );
        const issues = JSON.parse(headerText(letter!, "error_reason")!) as {
          rule: string;
          message: string;
        }[];
        expect(issues.length, `${what} has a reason`).toBeGreaterThan(0);
        expect(headerText(letter!, "error_rule")).toBe(issues[0]!.rule);
      }
    });
  }

  it("writes every record it can type once, and dead-letters every other one with its reason", async () => {
    const seeds = seedCorpus();
    runs = 0;
    await fc.assert(
      fc.asyncProperty(mixedBatch, (records) => runBatch(records)),
      {
        numRuns: 50,
        seed: 20261206,
        // Issue 13's cases, alone and among good records.
        examples: [[seeds], ...seeds.map((seed) => [[seed]] as [FuzzRecord[]])],
      },
    );
    // fast-check counts the examples among the runs.
    expect(runs).toBe(50);

    // Assess: ClickHouse, an independent reader, finds the same rows.
    const [counted] = await chdbQuery<{ n: number; offsets: number }>(
      "SELECT count() AS n, uniqExact(kafka_topic, kafka_partition, kafka_offset) AS offsets " +
        `FROM icebergLocal('${store.table.location}')`,
      dataDir,
    );
    expect(counted).toEqual({ n: keptSoFar.size, offsets: keptSoFar.size });
  }, 240_000);

  it("writes the good records and dead-letters the seeds when a batch is encoded on 2 threads", async () => {
    // Prepare: enough records for two chunks of the encoder (each at least 2,000), the seeds among them.
    const encoder = new BronzeEncoder(2);
    const threaded = createNeptune({
      table: store.table,
      encoder,
      deadLetter: eventLogDeadLetterSink(log, DLQ, "neptune"),
    });
    const records = goodPings(4_200);
    seedCorpus().forEach((seed, i) => {
      records.splice(i * 390, 0, seed);
    });

    // Act + Assess
    try {
      await runBatch(records, threaded);
    } finally {
      await encoder.close();
    }
  }, 120_000);

  it("refuses an event that is not a Kafka event with a KafkaEventError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (event) => {
        const outcome = await neptune(event, context).then(
          (response) => ({ response }),
          (error: unknown) => ({ error }),
        );
        if ("response" in outcome) expect(outcome.response).toEqual({ batchItemFailures: [] });
        else expect(outcome.error).toBeInstanceOf(KafkaEventError);
      }),
      { numRuns: 50, seed: 20261206, examples: [[null], [{ eventSource: "aws:kafka", records: [] }]] },
    );
  });
});
