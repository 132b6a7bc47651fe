import { describe, expect, it } from "vitest";
import {
  deadLetterHeaders,
  sessionsRecordHeaders,
  type V1Message,
  type V2Event,
  type Validation,
  v1EventId,
  validateV2BatchFrame,
} from "#shared/events/index.ts";
import { example } from "#test/helpers/examples.ts";

const RECEIVED_AT = new Date("2024-05-01T10:35:00.123Z");

function rulesOf(result: Validation<unknown>): string[] {
  return result.ok ? [] : result.issues.map((issue) => `${issue.field}:${issue.rule}`);
}

describe("Kafka headers", () => {
  it("labels an accepted v1 message with its derived id and type v1_message", () => {
    // Prepare
    const event = example<V1Message>("v1-message");

    // Act
    const headers = sessionsRecordHeaders({ schemaVersion: 1, event, eventId: v1EventId(event) });

    // Assess
    expect(headers).toEqual({
      event_id: "73b0904a-d6ac-5cc8-9bc8-2a58943c256c",
      schema_version: "1",
    });
  });

  it("labels an accepted v2 event with its own id", () => {
    // Prepare
    const event = example<V2Event>("v2-location-ping");

    // Act
    const headers = sessionsRecordHeaders({ schemaVersion: 2, event });

    // Assess
    expect(headers).toEqual({
      event_id: "cce269e1-3260-44ba-a101-447d6aa4dada",
      schema_version: "2",
    });
  });

  it("puts every issue and the first rule on a dead letter", () => {
    // Prepare
    const issues = [
      { field: "current_lat", rule: "range", message: "current_lat must be between -90 and 90 (got 123.4)" },
      { field: "speed", rule: "unknown_field", message: "speed is not a field of a v1 message" },
    ];

    // Act
    const headers = deadLetterHeaders(issues, 1, RECEIVED_AT);

    // Assess
    expect(headers).toEqual({
      error_reason: JSON.stringify(issues),
      error_rule: "range",
      received_at: "2024-05-01T10:35:00.123Z",
      schema_version: "1",
    });
    expect(JSON.parse(headers.error_reason!)).toEqual(issues);
  });
});

describe("validateV2BatchFrame", () => {
  const frame = (overrides: Record<string, unknown> = {}) => ({
    ...example<Record<string, unknown>>("v2-batch-frame"),
    ...overrides,
  });

  it("accepts the example frame and keeps its events for per-event validation", () => {
    // Act
    const result = validateV2BatchFrame(frame());

    // Assess
    expect(result.ok && result.value.events).toHaveLength(4);
  });

  it.each([
    ["an empty batch", { events: [] }, "events:min_items"],
    ["501 events", { events: Array.from({ length: 501 }, () => ({})) }, "events:max_items"],
    ["a batch_id of 65 characters", { batch_id: "b".repeat(65) }, "batch_id:max_length"],
    ["an empty batch_id", { batch_id: "" }, "batch_id:min_length"],
    ["another frame type", { type: "authentication" }, "type:enum"],
    ["events that are not an array", { events: {} }, "events:type"],
    ["an extra field", { compressed: true }, "compressed:unknown_field"],
  ])("rejects %s", (_label, overrides, rule) => {
    // Act
    const result = validateV2BatchFrame(frame(overrides));

    // Assess
    expect(rulesOf(result)).toEqual([rule]);
  });

  it("accepts 500 events", () => {
    // Act
    const result = validateV2BatchFrame(frame({ events: Array.from({ length: 500 }, () => ({})) }));

    // Assess
    expect(result.ok).toBe(true);
  });

  it("rejects a frame that is not an object", () => {
    // Act
    const result = validateV2BatchFrame([]);

    // Assess
    expect(rulesOf(result)).toEqual([":not_object"]);
  });
});
