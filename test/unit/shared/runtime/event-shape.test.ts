import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConsumedRecord } from "#shared/event-log/types.ts";
import { decodeKafkaEvent, IN_PROCESS_EVENT_SOURCE } from "#shared/lambda/index.ts";
import { buildKafkaEvent, type EventSourceSpec, type KafkaEvent } from "#shared/runtime/index.ts";
import {
  buildInProcessKafkaEvent,
  chunkByPayload,
  MAX_PAYLOAD_BYTES,
  recordPayloadBytes,
  toEventRecord,
} from "#shared/runtime/kafka-event.ts";
import { readFixture } from "#shared/runtime/replay.ts";

function fixture(name: string): KafkaEvent {
  const read = readFixture(`events/kafka/${name}`);
  if (read.kind !== "kafka-event") throw new Error(`${name} is not a Kafka event`);
  return structuredClone(read.event);
}

/** The log records an event was made from, decoded back from the event. */
function recordsOf(event: KafkaEvent): ConsumedRecord[] {
  return Object.values(event.records)
    .flat()
    .map((record) => ({
      topic: record.topic,
      partition: record.partition,
      offset: String(record.offset),
      timestamp: record.timestamp,
      key: record.key === undefined ? null : Buffer.from(record.key, "base64"),
      value: Buffer.from(record.value, "base64"),
      headers: Object.fromEntries(
        record.headers.flatMap((header) => Object.entries(header).map(([k, v]) => [k, Buffer.from(v)])),
      ),
    }));
}

const spec = (event: KafkaEvent): EventSourceSpec => ({
  functionName: "jupiter",
  handler: "dist/functions/jupiter/handler.handler",
  timeoutSeconds: 29,
  kind: event.eventSource === "aws:kafka" ? "msk" : "kafka",
  topic: "sessions",
  consumerGroupId: "packetpulse-jupiter",
  batchSize: 100,
  maximumBatchingWindowMs: 500,
  startingPosition: "TRIM_HORIZON",
  eventSourceArn: event.eventSource === "aws:kafka" ? event.eventSourceArn : undefined,
  bootstrapServers: event.bootstrapServers,
  reportBatchItemFailures: true,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  bisectBatchOnFunctionError: false,
  enabled: true,
});

describe("Kafka event shape", () => {
  it.each(["msk-sessions.json", "self-managed-sessions.json"])("rebuilds the %s fixture exactly", (name) => {
    // Prepare
    const expected = fixture(name);

    // Act
    const event = buildKafkaEvent(spec(expected), recordsOf(expected));

    // Assess
    expect(JSON.stringify(event)).toBe(JSON.stringify(expected));
  });

  it("keys records by topic-partition and keeps the partition's offset order", () => {
    // Prepare
    const event = fixture("msk-sessions.json");

    // Act
    const keys = Object.keys(event.records);

    // Assess
    expect(keys).toEqual(["sessions-0", "sessions-1"]);
    expect(event.records["sessions-0"]!.map((r) => r.offset)).toEqual([41, 42]);
  });

  it("omits the key of a record without one and gives header values as byte arrays", () => {
    // Prepare
    const record: ConsumedRecord = {
      topic: "sessions",
      partition: 2,
      offset: "9",
      timestamp: 1_714_554_912_514,
      key: null,
      value: Buffer.from("hi"),
      headers: { schema_version: Buffer.from("2") },
    };

    // Act
    const event = buildKafkaEvent(spec(fixture("self-managed-sessions.json")), [record]);

    // Assess
    expect(event.records["sessions-2"]).toEqual([
      {
        topic: "sessions",
        partition: 2,
        offset: 9,
        timestamp: 1_714_554_912_514,
        timestampType: "CREATE_TIME",
        value: "aGk=",
        headers: [{ schema_version: [50] }],
      },
    ]);
  });

  it("splits records so that no invocation exceeds the 6 MB payload", () => {
    // Prepare
    const big = (offset: number): ConsumedRecord => ({
      topic: "sessions",
      partition: 0,
      offset: String(offset),
      timestamp: 0,
      key: Buffer.from("k"),
      value: Buffer.alloc(2 * 1024 * 1024),
      headers: {},
    });

    // Act
    const chunks = chunkByPayload([big(0), big(1), big(2), big(3)]);

    // Assess
    expect(chunks.map((chunk) => chunk.map((r) => r.offset))).toEqual([
      ["0", "1"],
      ["2", "3"],
    ]);
    for (const chunk of chunks) {
      const event = buildKafkaEvent(spec(fixture("msk-sessions.json")), chunk);
      expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(MAX_PAYLOAD_BYTES);
    }
  });

  it("counts each record's bytes in the event exactly, with room for a partition group of its own", () => {
    const record = fc.record({
      topic: fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/),
      partition: fc.nat({ max: 5_000 }),
      offset: fc.nat().map(String),
      timestamp: fc.integer({ min: -1, max: 4_102_444_800_000 }),
      key: fc.option(fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))),
      value: fc.option(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes))),
      headers: fc.dictionary(
        fc.oneof(fc.string(), fc.constantFrom("event_id", "schema_version", 'quo"te', "Ωmega")),
        fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
        { maxKeys: 4 },
      ),
    });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), (records) => {
        for (const r of records) {
          // The record itself, exactly; its comma; a group `"topic-partition":[…]` with the comma before it.
          const own = Buffer.byteLength(JSON.stringify(toEventRecord(r)));
          const group = Buffer.byteLength(JSON.stringify(`${r.topic}-${r.partition}`)) + 4;
          expect(recordPayloadBytes(r)).toBe(own + 1 + group);
        }
        // So the records' sizes bound the event's JSON, whatever partitions they come from.
        const event = buildKafkaEvent(spec(fixture("msk-sessions.json")), records);
        const envelope = Buffer.byteLength(JSON.stringify({ ...event, records: {} }));
        const sum = records.reduce((total, r) => total + recordPayloadBytes(r), 0);
        expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(envelope + sum);
      }),
      { numRuns: 300 },
    );
  });

  it("counts numbers at every change of length exactly", () => {
    const edges = [0, 9, 10, 99, 100, 999_999, 1_000_000, Number.MAX_SAFE_INTEGER];
    for (const [i, offset] of edges.entries()) {
      for (const timestamp of [-10, -9, -1, 0, 9, 10, 1_714_554_912_514]) {
        const record: ConsumedRecord = {
          topic: "sessions",
          partition: edges[i % 4]!,
          offset: String(offset),
          timestamp,
          key: null,
          value: Buffer.from("v"),
          headers: {},
        };
        const own = Buffer.byteLength(JSON.stringify(toEventRecord(record)));
        const group = Buffer.byteLength(JSON.stringify(`sessions-${record.partition}`)) + 4;
        expect(recordPayloadBytes(record), `${offset} ${timestamp}`).toBe(own + 1 + group);
      }
    }
  });

  it("gives an in-process handler the log records' bytes, and a handler that replaces a value sees its own bytes", () => {
    // Prepare
    const expected = fixture("msk-sessions.json");
    const records = recordsOf(expected);
    const replaced = buildKafkaEvent(spec(expected), records);
    const first = replaced.records["sessions-0"]![0]!;

    // Act
    const inProcess = buildInProcessKafkaEvent(records);
    first.value = Buffer.from('{"replaced":true}').toString("base64");

    // Assess: the log's own buffers (no base64, no copy), decoded as Lambda's event would be.
    expect(inProcess.eventSource).toBe(IN_PROCESS_EVENT_SOURCE);
    expect(inProcess.records[0]!.value).toBe(records[0]!.value);
    expect(inProcess.records).toEqual(decodeKafkaEvent(buildKafkaEvent(spec(expected), records)));
    const decoded = decodeKafkaEvent(replaced);
    expect(decoded[0]!.value.toString()).toBe('{"replaced":true}');
    expect(decoded[0]!.headers).toEqual(records[0]!.headers);
    expect(Object.keys(first)).toEqual([
      "topic",
      "partition",
      "offset",
      "timestamp",
      "timestampType",
      "key",
      "value",
      "headers",
    ]);
  });

  it("hands the batch over in the event's order, grouped by partition", () => {
    // Prepare: records of two partitions, interleaved as a multi-partition fetch could give them.
    const expected = fixture("msk-sessions.json");
    const records = recordsOf(expected);
    const mixed = [
      { ...records[0]!, partition: 0, offset: "7" },
      { ...records[1]!, partition: 1, offset: "3" },
      { ...records[0]!, partition: 0, offset: "8" },
    ];
    const event = buildKafkaEvent(spec(expected), mixed);
    const replaced = buildKafkaEvent(spec(expected), mixed);

    // Act
    const inProcess = buildInProcessKafkaEvent(mixed);
    replaced.records = {};
    const json = JSON.parse(JSON.stringify(event));

    // Assess
    expect(inProcess.records.map((r) => [r.partition, r.offset])).toEqual([
      [0, 7],
      [0, 8],
      [1, 3],
    ]);
    expect(decodeKafkaEvent(replaced)).toEqual([]);
    expect(Object.keys(json.records)).toEqual(["sessions-0", "sessions-1"]);
    expect(json.records["sessions-0"]).toHaveLength(2);
    expect(decodeKafkaEvent(event).map((r) => r.offset)).toEqual(inProcess.records.map((r) => r.offset));
  });
});
