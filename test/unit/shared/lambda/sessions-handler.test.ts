import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  IN_PROCESS_EVENT_SOURCE,
  type InProcessKafkaEvent,
  KafkaEventError,
  type SessionsRecord,
  schemaVersionOf,
  sessionsHandler,
} from "#shared/lambda/index.ts";

const context = { functionName: "jupiter", awsRequestId: "test" } as Context;

const record = (offset: number, value: string): SessionsRecord => ({
  topic: "sessions",
  partition: 0,
  offset,
  timestamp: 1_714_554_912_514,
  key: Buffer.from("device-1"),
  value: Buffer.from(value),
  headers: { schema_version: Buffer.from("2") },
});

/** A handler that keeps every batch it is given. */
function collecting() {
  const batches: (readonly SessionsRecord[])[] = [];
  const handler = sessionsHandler(async (records) => {
    batches.push(records);
  });
  return { handler, batches };
}

describe("sessionsHandler", () => {
  it("decodes Lambda's Kafka event into records and reports no failed items", async () => {
    // Prepare
    const { handler, batches } = collecting();
    const event = {
      eventSource: "aws:kafka",
      eventSourceArn: "arn:aws:kafka:eu-west-1:000000000000:cluster/packetpulse/x",
      bootstrapServers: "b-1:9092",
      records: {
        "sessions-0": [
          {
            topic: "sessions",
            partition: 0,
            offset: 5,
            timestamp: 1_714_554_912_514,
            timestampType: "CREATE_TIME",
            key: Buffer.from("device-1").toString("base64"),
            value: Buffer.from('{"a":1}').toString("base64"),
            headers: [{ schema_version: [50] }],
          },
        ],
      },
    };

    // Act
    const response = await handler(event, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(batches).toHaveLength(1);
    expect(batches[0]![0]!.value.toString()).toBe('{"a":1}');
    expect(batches[0]![0]!.key?.toString()).toBe("device-1");
    expect(batches[0]![0]!.headers.schema_version?.toString()).toBe("2");
  });

  it("passes the records of its inProcess entry to the batch as they are", async () => {
    // Prepare
    const { handler, batches } = collecting();
    const records = [record(1, '{"a":1}'), record(2, '{"a":2}')];
    const event: InProcessKafkaEvent = { eventSource: IN_PROCESS_EVENT_SOURCE, records };

    // Act
    await handler.inProcess(event, context);

    // Assess
    expect(batches[0]).toBe(records);
  });

  it("refuses, through Lambda's entry, an event that only claims to be in-process", async () => {
    // Prepare
    const { handler, batches } = collecting();
    const posing = { eventSource: IN_PROCESS_EVENT_SOURCE, records: [{ value: "not bytes" }] };

    // Act
    const outcome = handler(posing, context);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(KafkaEventError);
    expect(batches).toHaveLength(0);
  });

  it("throws what the batch throws, so the event source retries the batch", async () => {
    // Prepare
    const handler = sessionsHandler(async () => {
      throw new Error("ClickHouse is down");
    });
    const event: InProcessKafkaEvent = { eventSource: IN_PROCESS_EVENT_SOURCE, records: [record(1, "{}")] };

    // Act
    const outcome = handler.inProcess(event, context);

    // Assess
    await expect(outcome).rejects.toThrow("ClickHouse is down");
  });
});

describe("schemaVersionOf", () => {
  it("reads the header, else the value, else reports the current version", () => {
    expect(schemaVersionOf("1", { event_type: "x" })).toBe(1);
    expect(schemaVersionOf("2", {})).toBe(2);
    expect(schemaVersionOf(undefined, { event_type: "x" })).toBe(2);
    expect(schemaVersionOf(undefined, { device_id: "x" })).toBe(1);
    expect(schemaVersionOf("7", [])).toBe(1);
    expect(schemaVersionOf(undefined)).toBe(2);
    expect(schemaVersionOf("1")).toBe(1);
    expect(schemaVersionOf("3")).toBe(2);
  });
});
