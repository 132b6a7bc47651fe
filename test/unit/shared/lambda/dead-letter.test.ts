import { describe, expect, it } from "vitest";
import { type DeadLetter, deadLetterRecord as deadLetterRecordBy } from "#shared/lambda/index.ts";

const deadLetterRecord = (letter: DeadLetter) => deadLetterRecordBy(letter, "jupiter");
const bronzeDeadLetterRecord = (letter: DeadLetter) => deadLetterRecordBy(letter, "neptune");

const letter = {
  record: {
    topic: "sessions",
    partition: 2,
    offset: 41,
    timestamp: Date.parse("2024-05-01T10:30:00.000Z"),
    key: Buffer.from("device-1"),
    value: Buffer.from('{"event_type":"teleport"}'),
    headers: {},
  },
  schemaVersion: 2 as const,
  issues: [{ field: "event_type", rule: "invalid_value", message: "event_type must be one of …" }],
};

describe("dead letters of the consuming functions", () => {
  it.each([
    ["jupiter", deadLetterRecord],
    ["neptune", bronzeDeadLetterRecord],
  ])("%s keeps the raw record and says where it came from and who rejected it", (name, build) => {
    // Act
    const record = build(letter);

    // Assess
    expect(record.key).toBe("device-1");
    expect(Buffer.from(record.value as Buffer).toString()).toBe('{"event_type":"teleport"}');
    expect(record.headers).toMatchObject({
      source_record: "sessions-2@41",
      rejected_by: name,
      error_rule: "invalid_value",
      schema_version: "2",
    });
    expect(JSON.parse(String(record.headers?.error_reason))).toEqual([
      expect.objectContaining({ field: "event_type", rule: "invalid_value" }),
    ]);
  });

  it("keeps a Kafka timestamp no date can hold as it was in received_at", () => {
    // Prepare
    const beyond = { ...letter, record: { ...letter.record, timestamp: 2 ** 63 } };

    // Act
    const record = deadLetterRecord(beyond);

    // Assess
    expect(record.headers).toMatchObject({ received_at: "9223372036854776000", rejected_by: "jupiter" });
  });

  it("carries the first 64 KiB of a longer value and the first KiB of a longer key, with their sizes", () => {
    // Prepare: a record near Kafka's message size limit, whose whole copy and reasons would not fit.
    const big = {
      ...letter,
      record: { ...letter.record, key: Buffer.alloc(5_000, 107), value: Buffer.alloc(1_048_500, 120) },
    };

    // Act
    const record = deadLetterRecord(big);

    // Assess
    expect((record.value as Buffer).equals(Buffer.alloc(64 * 1024, 120))).toBe(true);
    expect(record.key).toBe("k".repeat(1024));
    expect(record.headers).toMatchObject({
      original_value_bytes: "1048500",
      original_key_bytes: "5000",
      source_record: "sessions-2@41",
    });
  });

  it("carries a value and key within the bounds whole, without size headers", () => {
    // Prepare
    const edge = { ...letter, record: { ...letter.record, value: Buffer.alloc(64 * 1024, 120) } };

    // Act
    const record = deadLetterRecord(edge);

    // Assess
    expect((record.value as Buffer).length).toBe(64 * 1024);
    expect(Object.keys(record.headers ?? {})).not.toContain("original_value_bytes");
    expect(Object.keys(record.headers ?? {})).not.toContain("original_key_bytes");
  });
});
