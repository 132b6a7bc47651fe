import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Context } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJupiter, openSilverPool, openSilverStore } from "#functions/jupiter/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { type EventLog, openEventLog } from "#shared/event-log/index.ts";
import { v1EventId } from "#shared/events/index.ts";
import { eventLogDeadLetterSink, KafkaEventError, type SessionsHandler } from "#shared/lambda/index.ts";
import {
  expectedDeadLetter,
  type FuzzRecord,
  goodPings,
  mixedBatch,
  mskEvent,
  seedCorpus,
} from "#test/helpers/hostile-records.ts";
import { headerText, readTopic } from "#test/helpers/platform.ts";

/**
 * Jupiter's Kafka handler under hostile records, against a real embedded ClickHouse (chDB) and the
 * embedded event log as its dead-letter topic: whatever a batch holds, the handler answers, every good
 * record is a silver row, and every hostile record is on `sessions-dlq` with its reason.
 */

const DLQ = "sessions-dlq";
const context = {} as Context;

describe("Jupiter's Kafka handler under hostile records (fuzz)", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-jupiter-fuzz-"));
  let clickhouse: ClickHouseClient;
  let log: EventLog;
  let jupiter: SessionsHandler;
  /** Offsets are unique across runs, so a dead letter's source_record names one record of one run. */
  let nextOffset = 1_000;

  beforeAll(async () => {
    const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir, PACKETPULSE_EVENT_LOG: "embedded" });
    clickhouse = await openSilverStore(config.clickhouse);
    log = await openEventLog(config);
    await log.ensureTopics([{ topic: DLQ, partitions: 1 }]);
    jupiter = createJupiter({ clickhouse, deadLetter: eventLogDeadLetterSink(log, DLQ, "jupiter") });
  });

  afterAll(async () => {
    await clickhouse?.close();
    await log?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The event ids of `ids` that are silver position rows. */
  async function silverEventIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const result = await clickhouse.query({
      query: "SELECT toString(event_id) AS id FROM session_positions WHERE event_id IN {ids:Array(UUID)}",
      query_params: { ids },
      format: "JSONEachRow",
    });
    return new Set((await result.json<{ id: string }>()).map((row) => row.id));
  }

  /** The id a kept record's row has: the header's for Venus's records, else derived as Venus derives it. */
  function keptId(record: FuzzRecord): string {
    if (record.eventId) return record.eventId;
    const value = JSON.parse(Buffer.from(record.value!, "base64").toString("utf8"));
    return v1EventId(value);
  }

  let runs = 0;

  async function runBatch(records: FuzzRecord[], handler = jupiter): Promise<void> {
    runs++;
    // Prepare
    const firstOffset = nextOffset;
    nextOffset += records.length;
    const source = (i: number) => `${records[i]!.topic}-0@${firstOffset + i}`;

    // Act
    const response = await handler(mskEvent(records, firstOffset), context);

    // Assess: the batch succeeded without listing items (silver dead-letters instead).
    expect(response).toEqual({ batchItemFailures: [] });
    const letters = new Map(
      (await readTopic(log, DLQ))
        .filter((letter) => headerText(letter, "rejected_by") === "jupiter")
        .map((letter) => [headerText(letter, "source_record"), letter]),
    );
    const kept = records.flatMap((record) => (record.expect.jupiter === "kept" ? [keptId(record)] : []));
    const rows = await silverEventIds(kept);
    records.forEach((record, i) => {
      const letter = letters.get(source(i));
      const what = `${record.label} at ${source(i)}`;
      if (record.expect.jupiter === "kept") {
        expect(rows.has(keptId(record)), `${what} is a silver row`).toBe(true);
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
        expect(issues[0]!.message.length).toBeGreaterThan(0);
      }
    });
  }

  it("keeps every good record in silver and dead-letters every hostile one with its reason", async () => {
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
  });

  it("keeps the good records and dead-letters the seeds when a batch is split across threads", async () => {
    // Prepare: enough records for two chunks of the pool (each at least 2,000), the seeds among them.
    const pool = await openSilverPool(2);
    const threaded = createJupiter({
      clickhouse,
      pool,
      deadLetter: eventLogDeadLetterSink(log, DLQ, "jupiter"),
    });
    const records = goodPings(4_200);
    seedCorpus().forEach((seed, i) => {
      records.splice(i * 390, 0, seed);
    });

    // Act + Assess
    try {
      await runBatch(records, threaded);
    } finally {
      await pool.close();
    }
  });

  it("refuses an event that is not a Kafka event with a KafkaEventError naming the field", async () => {
    const notAnEvent = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ eventSource: fc.jsonValue({ maxDepth: 2 }), records: fc.jsonValue({ maxDepth: 3 }) }),
      fc.record({
        eventSource: fc.constant("aws:kafka"),
        records: fc.dictionary(
          fc.string(),
          fc.array(
            fc.record({
              topic: fc.oneof(fc.constant(""), fc.integer()),
              partition: fc.oneof(fc.constant(-1), fc.double(), fc.string()),
              offset: fc.jsonValue({ maxDepth: 1 }),
              timestamp: fc.jsonValue({ maxDepth: 1 }),
              headers: fc.jsonValue({ maxDepth: 2 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          { minKeys: 1, maxKeys: 2 },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(notAnEvent, async (event) => {
        const outcome = await jupiter(event, context).then(
          (response) => ({ response }),
          (error: unknown) => ({ error }),
        );
        // An event without records is an empty batch; anything else malformed is a typed error.
        if ("response" in outcome) expect(outcome.response).toEqual({ batchItemFailures: [] });
        else {
          expect(outcome.error).toBeInstanceOf(KafkaEventError);
          expect((outcome.error as Error).message).toMatch(/^Not a Kafka event: /);
        }
      }),
      {
        numRuns: 100,
        seed: 20261206,
        examples: [
          [null],
          ["x"],
          [{ eventSource: "aws:kafka", records: [] }],
          [{ records: { "sessions-0": [null] } }],
        ],
      },
    );
  });
});
