import { describe, expect, it } from "vitest";
import { V1_FIELDS, type Validation, validateV1 } from "#shared/events/index.ts";
import { example } from "#test/helpers/examples.ts";

const NOW = new Date("2024-05-01T10:35:00Z");

/** A fresh, valid v1 message per call (the example users see in docs/events.md). */
function v1Message(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...example("v1-message"), ...overrides };
}

/** `field:rule` of every issue, in order: exact assertions also catch unexpected extra issues. */
function rulesOf(result: Validation<unknown>): string[] {
  return result.ok ? [] : result.issues.map((issue) => `${issue.field}:${issue.rule}`);
}

function messagesOf(result: Validation<unknown>): string[] {
  return result.ok ? [] : result.issues.map((issue) => issue.message);
}

describe("validateV1", () => {
  it("accepts the example message and returns its fields unchanged", () => {
    // Prepare
    const message = v1Message();

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(result).toEqual({ ok: true, value: message });
  });

  it.each([
    ["null", null],
    ["an array", [v1Message()]],
    ["a string", "device_id=1"],
    ["a number", 42],
  ])("rejects %s as not_object", (_label, input) => {
    // Act
    const result = validateV1(input, { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([":not_object"]);
  });

  it.each(V1_FIELDS)("requires %s", (field) => {
    // Prepare
    const message = v1Message();
    delete message[field];

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([`${field}:required`]);
    expect(messagesOf(result)).toEqual([`${field} is required`]);
  });

  it.each([
    ["current_lat", "37.9", 'current_lat must be a finite number (got string "37.9")'],
    ["start_lon", null, "start_lon must be a finite number (got null)"],
    ["end_lat", Number.NaN, "end_lat must be a finite number (got NaN)"],
    ["end_lon", Number.POSITIVE_INFINITY, "end_lon must be a finite number (got Infinity)"],
    ["device_id", 17, "device_id must be a string (got 17)"],
    ["timestamp", 1714559400000, "timestamp must be a string (got 1714559400000)"],
  ])("rejects %s = %s as the wrong type", (field, value, message) => {
    // Prepare
    const input = v1Message({ [field]: value });

    // Act
    const result = validateV1(input, { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([`${field}:type`]);
    expect(messagesOf(result)).toEqual([message]);
  });

  it("accepts fields besides the 12, as the original API did, and leaves them out of the message", () => {
    // Prepare: what the original devices send, and a field of another device
    const message = v1Message({ route_name: "Syntagma → Kifisia", waypoint_count: 14, speed: 20 });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
    expect(result.ok && Object.keys(result.value)).toEqual([...V1_FIELDS]);
  });

  it("rejects extra fields nested deeper than the limit, before anything recursive reads them", () => {
    // Prepare: 4,500 levels, as a hostile client sent, within the size limit
    let nested: unknown = 1;
    for (let level = 0; level < 4500; level += 1) nested = [nested];
    const deep = v1Message({ route_name: nested });

    // Act
    const result = validateV1(deep, { now: NOW, byteLength: 2000 });
    const shallow = validateV1(v1Message({ route_name: { a: { b: [1, 2] } } }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([":max_depth"]);
    expect(messagesOf(result)[0]).toContain("more than 16 levels deep");
    expect(shallow.ok).toBe(true);
  });

  it("rejects extra fields that make the message larger than the size limit", () => {
    // Act
    const result = validateV1(v1Message({ route_name: "r".repeat(9000) }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([":max_size"]);
  });

  it.each(["done", "picked_up", "EN_ROUTE", ""])("rejects status %j", (status) => {
    // Act
    const result = validateV1(v1Message({ status }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["status:enum"]);
    expect(messagesOf(result)[0]).toContain("status must be one of started, en_route, completed");
  });

  it.each([
    "courier-17",
    "934b40e589b94513b11a4d4eb90c8a2a",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "934b40e5-89b9-0513-b11a-4d4eb90c8a2a",
    "934b40e5-89b9-4513-711a-4d4eb90c8a2a",
    "{934b40e5-89b9-4513-b11a-4d4eb90c8a2a}",
    " 934b40e5-89b9-4513-b11a-4d4eb90c8a2a",
  ])("rejects %j as a device_id", (deviceId) => {
    // Act
    const result = validateV1(v1Message({ device_id: deviceId }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["device_id:uuid"]);
  });

  it.each([
    ["v1", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"],
    ["v3", "a3bb189e-8bf9-3888-9912-ace4e6543002"],
    ["v4 uppercase", "934B40E5-89B9-4513-B11A-4D4EB90C8A2A"],
    ["v5", "886313e1-3b8a-5372-9b90-0c9aee199e5d"],
    ["v7", "01890a5d-ac96-774b-bcce-b302099a8057"],
  ])("accepts a %s UUID in every id field", (_label, uuid) => {
    // Prepare
    const message = v1Message({ device_id: uuid, vehicle_id: uuid, session_id: uuid, order_id: uuid });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it.each([
    ["start_lat", 90.0001],
    ["end_lat", -90.5],
    ["current_lat", 123.4],
    ["start_lon", 180.0001],
    ["end_lon", -181],
    ["current_lon", 360],
  ])("rejects %s = %s as out of range", (field, value) => {
    // Act
    const result = validateV1(v1Message({ [field]: value }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([`${field}:range`]);
  });

  it("names the bounds and the value in a range message", () => {
    // Act
    const result = validateV1(v1Message({ current_lat: 123.4 }), { now: NOW });

    // Assess
    expect(messagesOf(result)).toEqual(["current_lat must be between -90 and 90 (got 123.4)"]);
  });

  it("accepts coordinates on the bounds", () => {
    // Prepare
    const message = v1Message({ start_lat: 90, start_lon: -180, end_lat: -90, end_lon: 180 });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it.each([
    ["start_lat", "start_lon"],
    ["end_lat", "end_lon"],
    ["current_lat", "current_lon"],
  ])("rejects %s, %s = 0,0 as a missing position", (latField, lonField) => {
    // Act
    const result = validateV1(v1Message({ [latField]: 0, [lonField]: 0 }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([`${latField}:missing_position`]);
    expect(messagesOf(result)[0]).toContain(`${latField} and ${lonField} are both 0`);
  });

  it("accepts a position with only one coordinate at 0", () => {
    // Prepare
    const message = v1Message({ current_lat: 0, current_lon: 23.73121, end_lat: 51.4779, end_lon: 0 });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it.each([
    "yesterday",
    "2024-05-01",
    "2024-05-01 10:30:00",
    "2024-05-01T10:30",
    "2024-05-01T10:30:00+2",
    "2024-05-01T10:30:00.Z",
    "1714559400",
  ])("rejects the unparseable timestamp %j", (timestamp) => {
    // Act
    const result = validateV1(v1Message({ timestamp }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["timestamp:timestamp_format"]);
  });

  it.each([
    "2024-13-01T00:00:00Z",
    "2023-02-29T10:00:00Z",
    "2024-04-31T10:00:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T10:60:00Z",
    "2024-05-01T10:30:60Z",
    "2024-05-01T10:30:00+24:00",
  ])("rejects the impossible date-time %j", (timestamp) => {
    // Act
    const result = validateV1(v1Message({ timestamp }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["timestamp:timestamp_format"]);
    expect(messagesOf(result)[0]).toContain("is not a real date and time");
  });

  it("accepts 29 February of a leap year", () => {
    // Act
    const result = validateV1(v1Message({ timestamp: "2024-02-29T23:59:59.999Z" }), { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it("rejects a timestamp longer than 40 characters", () => {
    // Prepare
    const timestamp = `2024-05-01T10:30:00.${"1".repeat(30)}Z`;

    // Act
    const result = validateV1(v1Message({ timestamp }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["timestamp:max_length"]);
    expect(messagesOf(result)).toEqual(["timestamp must be at most 40 characters (got 51)"]);
  });

  it("rejects a timestamp more than 10 minutes after now", () => {
    // Act
    const result = validateV1(v1Message({ timestamp: "2024-05-01T10:45:00.001Z" }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["timestamp:timestamp_future"]);
  });

  it("accepts a timestamp exactly 10 minutes after now", () => {
    // Act
    const result = validateV1(v1Message({ timestamp: "2024-05-01T10:45:00Z" }), { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it("applies the caller's maxFutureSkewMs", () => {
    // Prepare
    const message = v1Message({ timestamp: "2024-05-01T10:36:00Z" });

    // Act
    const strict = validateV1(message, { now: NOW, maxFutureSkewMs: 30_000 });
    const lenient = validateV1(message, { now: NOW, maxFutureSkewMs: 120_000 });

    // Assess
    expect(rulesOf(strict)).toEqual(["timestamp:timestamp_future"]);
    expect(lenient.ok).toBe(true);
  });

  it("reads a zone-less timestamp as UTC when checking the future", () => {
    // Prepare: 10:50 without a zone is 20 minutes ahead of 10:30Z only if read as UTC.
    const now = new Date("2024-05-01T10:30:00Z");

    // Act
    const result = validateV1(v1Message({ timestamp: "2024-05-01T10:50:00" }), { now });

    // Assess
    expect(rulesOf(result)).toEqual(["timestamp:timestamp_future"]);
  });

  it.each([
    "2019-12-31T23:59:59.999Z",
    "2020-01-01T01:00:00+02:00",
    "2019-12-31T23:59:59",
    "1970-01-01T00:00:00Z",
  ])("rejects %j as before the platform epoch", (timestamp) => {
    // Act
    const result = validateV1(v1Message({ timestamp }), { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual(["timestamp:timestamp_before_epoch"]);
    expect(messagesOf(result)[0]).toContain("must not be before 2020-01-01T00:00:00.000Z");
  });

  it("accepts the platform epoch itself", () => {
    // Act
    const result = validateV1(v1Message({ timestamp: "2020-01-01T00:00:00Z" }), { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it("rejects an event whose JSON is larger than 8 KiB with max_size alone", () => {
    // Prepare
    const message = v1Message({ notes: "x".repeat(8192) });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([":max_size"]);
    expect(messagesOf(result)[0]).toMatch(/^the event is \d+ bytes of JSON; the limit is 8192 bytes$/);
  });

  it("trusts the caller's byteLength instead of measuring", () => {
    // Prepare
    const message = v1Message();

    // Act
    const tooLarge = validateV1(message, { now: NOW, byteLength: 8193 });
    const atLimit = validateV1(message, { now: NOW, byteLength: 8192 });

    // Assess
    expect(rulesOf(tooLarge)).toEqual([":max_size"]);
    expect(atLimit.ok).toBe(true);
  });

  it("reports every broken rule at once, in field order, and ignores extra fields", () => {
    // Prepare
    const message = v1Message({
      extra: true,
      current_lat: 123.4,
      device_id: "courier-17",
      timestamp: "2030-01-01T00:00:00Z",
      end_lat: 0,
      end_lon: 0,
    });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([
      "device_id:uuid",
      "timestamp:timestamp_future",
      "end_lat:missing_position",
      "current_lat:range",
    ]);
  });

  it("shortens long received values in messages", () => {
    // Prepare
    const message = v1Message({ status: "s".repeat(1000) });

    // Act
    const result = validateV1(message, { now: NOW });

    // Assess
    expect(messagesOf(result)[0]!.length).toBeLessThan(120);
  });
});
