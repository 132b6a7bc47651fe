import { describe, expect, it } from "vitest";
import { V2_STATUSES, type Validation, validateV2 } from "#shared/events/index.ts";
import { example as readExample } from "#test/helpers/examples.ts";

const NOW = new Date("2024-05-01T10:35:00Z");

type ExampleName = "v2-session-started" | "v2-location-ping" | "v2-status-changed";

/** A fresh, valid event per call (the examples users see in docs/events.md). */
function example(name: ExampleName, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...readExample(name), ...overrides };
}

const sessionStarted = (overrides: Record<string, unknown> = {}) => example("v2-session-started", overrides);
const locationPing = (overrides: Record<string, unknown> = {}) => example("v2-location-ping", overrides);
const statusChanged = (overrides: Record<string, unknown> = {}) => example("v2-status-changed", overrides);

function without(event: Record<string, unknown>, ...fields: string[]): Record<string, unknown> {
  const copy = { ...event };
  for (const field of fields) delete copy[field];
  return copy;
}

function rulesOf(result: Validation<unknown>): string[] {
  return result.ok ? [] : result.issues.map((issue) => `${issue.field}:${issue.rule}`);
}

function messagesOf(result: Validation<unknown>): string[] {
  return result.ok ? [] : result.issues.map((issue) => issue.message);
}

const ENVELOPE_FIELDS = [
  "event_id",
  "event_type",
  "schema_version",
  "occurred_at",
  "device_id",
  "vehicle_id",
  "session_id",
  "order_id",
];

describe("validateV2", () => {
  it.each(["v2-session-started", "v2-location-ping", "v2-status-changed"] as const)(
    "accepts the %s example unchanged",
    (name) => {
      // Prepare
      const event = example(name);

      // Act
      const result = validateV2(event, { now: NOW });

      // Assess
      expect(result).toEqual({ ok: true, value: event });
    },
  );

  it.each([null, [], "location_ping", 2])("rejects %j as not_object", (input) => {
    // Act
    const result = validateV2(input, { now: NOW });

    // Assess
    expect(rulesOf(result)).toEqual([":not_object"]);
  });

  describe("envelope", () => {
    it.each(ENVELOPE_FIELDS.filter((field) => field !== "event_type"))(
      "requires %s on every event type",
      (field) => {
        // Prepare
        const events = [sessionStarted(), locationPing(), statusChanged()].map((event) =>
          without(event, field),
        );

        // Act
        const results = events.map((event) => validateV2(event, { now: NOW }));

        // Assess
        for (const result of results) expect(rulesOf(result)).toEqual([`${field}:required`]);
      },
    );

    it("requires event_type", () => {
      // Act
      const result = validateV2(without(locationPing(), "event_type"), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["event_type:required"]);
    });

    it("rejects an unknown event_type and still checks the envelope", () => {
      // Prepare
      const event = locationPing({ event_type: "teleported", device_id: "courier-17" });

      // Act
      const result = validateV2(event, { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["event_type:enum", "device_id:uuid"]);
      expect(messagesOf(result)[0]).toBe(
        'event_type must be one of session_started, location_ping, status_changed (got "teleported")',
      );
    });

    it.each([1, "2", 3, null])("rejects schema_version %j", (schemaVersion) => {
      // Act
      const result = validateV2(locationPing({ schema_version: schemaVersion }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["schema_version:enum"]);
    });

    it.each(["event_id", "device_id", "vehicle_id", "session_id", "order_id"])(
      "rejects a %s that is not a UUID",
      (field) => {
        // Act
        const result = validateV2(statusChanged({ [field]: "0b7e3f5a-2c4d-4e6f-8a9b" }), { now: NOW });

        // Assess
        expect(rulesOf(result)).toEqual([`${field}:uuid`]);
      },
    );

    it("reads a zone-less occurred_at as UTC", () => {
      // Prepare: 10:50 without a zone is 20 minutes after 10:30Z only if read as UTC.
      const event = locationPing({ occurred_at: "2024-05-01T10:50:00" });

      // Act
      const result = validateV2(event, { now: new Date("2024-05-01T10:30:00Z") });

      // Assess
      expect(rulesOf(result)).toEqual(["occurred_at:timestamp_future"]);
    });

    it.each([
      ["2024-05-01T10:30:00", true],
      ["2024-05-01T10:30:00.123456Z", true],
      ["2024-05-01T13:30:00+0300", true],
      ["2024-05-01T10:30:00-00:00", true],
      ["2024-05-01T10:30:00 UTC", false],
    ])("parses occurred_at %j: %s", (occurredAt, accepted) => {
      // Act
      const result = validateV2(locationPing({ occurred_at: occurredAt }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(accepted ? [] : ["occurred_at:timestamp_format"]);
    });

    it("rejects an occurred_at more than maxFutureSkewMs after now", () => {
      // Act
      const result = validateV2(locationPing({ occurred_at: "2024-05-01T10:45:00.001Z" }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["occurred_at:timestamp_future"]);
      expect(messagesOf(result)[0]).toContain("must not be more than 10 min in the future");
    });

    it("rejects an occurred_at before the platform epoch", () => {
      // Act
      const result = validateV2(locationPing({ occurred_at: "2019-06-01T10:00:00Z" }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["occurred_at:timestamp_before_epoch"]);
    });

    it("rejects an impossible occurred_at", () => {
      // Act
      const result = validateV2(locationPing({ occurred_at: "2024-02-30T10:00:00Z" }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["occurred_at:timestamp_format"]);
    });

    it("rejects an event whose JSON is larger than 8 KiB", () => {
      // Prepare
      const event = statusChanged({ debug: "x".repeat(9000) });

      // Act
      const result = validateV2(event, { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual([":max_size"]);
    });

    it("rejects on the caller's byteLength before looking at the fields", () => {
      // Act
      const result = validateV2({ anything: true }, { now: NOW, byteLength: 20_000 });

      // Assess
      expect(rulesOf(result)).toEqual([":max_size"]);
    });
  });

  describe("session_started", () => {
    it.each(["pickup_lat", "pickup_lon", "dropoff_lat", "dropoff_lon", "vehicle_type", "promised_at"])(
      "requires %s",
      (field) => {
        // Act
        const result = validateV2(without(sessionStarted(), field), { now: NOW });

        // Assess
        expect(rulesOf(result)).toEqual([`${field}:required`]);
      },
    );

    it.each(["truck", "Car", "", 3])("rejects vehicle_type %j", (vehicleType) => {
      // Act
      const result = validateV2(sessionStarted({ vehicle_type: vehicleType }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["vehicle_type:enum"]);
    });

    it.each([
      ["pickup_lat", -91],
      ["pickup_lon", 180.5],
      ["dropoff_lat", 95],
      ["dropoff_lon", -200],
    ])("rejects %s = %s as out of range", (field, value) => {
      // Act
      const result = validateV2(sessionStarted({ [field]: value }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual([`${field}:range`]);
    });

    it.each([
      ["pickup_lat", "pickup_lon"],
      ["dropoff_lat", "dropoff_lon"],
    ])("rejects %s, %s = 0,0 as a missing position", (latField, lonField) => {
      // Act
      const result = validateV2(sessionStarted({ [latField]: 0, [lonField]: 0 }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual([`${latField}:missing_position`]);
    });

    it.each(["2024-05-01T10:20:00Z", "2024-05-01T10:19:59.999Z", "2024-05-01T12:00:00+02:00"])(
      "rejects promised_at %j, not after occurred_at 10:20Z",
      (promisedAt) => {
        // Act
        const result = validateV2(sessionStarted({ promised_at: promisedAt }), { now: NOW });

        // Assess
        expect(rulesOf(result)).toEqual(["promised_at:promised_before_start"]);
      },
    );

    it("accepts a promised_at far in the future", () => {
      // Act
      const result = validateV2(sessionStarted({ promised_at: "2024-05-03T10:00:00Z" }), { now: NOW });

      // Assess
      expect(result.ok).toBe(true);
    });

    it("checks promised_at's format and epoch", () => {
      // Act
      const unparseable = validateV2(sessionStarted({ promised_at: "in 30 minutes" }), { now: NOW });
      const beforeEpoch = validateV2(sessionStarted({ promised_at: "2019-01-01T00:00:00Z" }), { now: NOW });

      // Assess
      expect(rulesOf(unparseable)).toEqual(["promised_at:timestamp_format"]);
      expect(rulesOf(beforeEpoch)).toEqual(["promised_at:timestamp_before_epoch"]);
    });

    it("rejects a location_ping field", () => {
      // Act
      const result = validateV2(sessionStarted({ speed_kmh: 10 }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["speed_kmh:unknown_field"]);
      expect(messagesOf(result)).toEqual(["speed_kmh is not a field of a session_started event"]);
    });
  });

  describe("location_ping", () => {
    it.each(["lat", "lon", "speed_kmh", "heading_deg", "accuracy_m"])("requires %s", (field) => {
      // Act
      const result = validateV2(without(locationPing(), field), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual([`${field}:required`]);
    });

    it.each([
      ["lat", 90.1, "lat must be between -90 and 90 (got 90.1)"],
      ["lon", -180.1, "lon must be between -180 and 180 (got -180.1)"],
      ["speed_kmh", -1, "speed_kmh must be between 0 and 250 (got -1)"],
      ["speed_kmh", 250.1, "speed_kmh must be between 0 and 250 (got 250.1)"],
      ["heading_deg", 360, "heading_deg must be at least 0 and below 360 (got 360)"],
      ["heading_deg", -0.5, "heading_deg must be at least 0 and below 360 (got -0.5)"],
      ["accuracy_m", 0, "accuracy_m must be greater than 0 and at most 10000 (got 0)"],
      ["accuracy_m", 10_000.5, "accuracy_m must be greater than 0 and at most 10000 (got 10000.5)"],
    ])("rejects %s = %s as out of range", (field, value, message) => {
      // Act
      const result = validateV2(locationPing({ [field]: value }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual([`${field}:range`]);
      expect(messagesOf(result)).toEqual([message]);
    });

    it("accepts values on the inclusive bounds", () => {
      // Prepare
      const event = locationPing({ speed_kmh: 250, heading_deg: 359.999, accuracy_m: 10_000 });

      // Act
      const result = validateV2(event, { now: NOW });

      // Assess
      expect(result.ok).toBe(true);
    });

    it.each([
      ["speed_kmh", "24.5"],
      ["heading_deg", null],
      ["accuracy_m", true],
      ["lat", [37.9]],
    ])("rejects %s = %j as the wrong type", (field, value) => {
      // Act
      const result = validateV2(locationPing({ [field]: value }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual([`${field}:type`]);
    });

    it("rejects lat, lon = 0,0 as a missing position", () => {
      // Act
      const result = validateV2(locationPing({ lat: 0, lon: 0 }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["lat:missing_position"]);
    });
  });

  describe("status_changed", () => {
    it("requires status", () => {
      // Act
      const result = validateV2(without(statusChanged(), "status"), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["status:required"]);
    });

    it.each(["done", "delivered", "FAILED"])("rejects status %j", (status) => {
      // Act
      const result = validateV2(statusChanged({ status }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["status:enum"]);
    });

    it.each(["failed", "cancelled"])("requires a reason when status is %s", (status) => {
      // Act
      const result = validateV2(without(statusChanged({ status }), "reason"), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["reason:reason_required"]);
      expect(messagesOf(result)).toEqual([`reason must say why when status is ${status}`]);
    });

    it("rejects a blank reason on a failed session", () => {
      // Act
      const result = validateV2(statusChanged({ status: "failed", reason: "   " }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["reason:reason_required"]);
    });

    it.each(V2_STATUSES.filter((status) => status !== "failed" && status !== "cancelled"))(
      "forbids a reason when status is %s",
      (status) => {
        // Act
        const withReason = validateV2(statusChanged({ status }), { now: NOW });
        const withoutReason = validateV2(without(statusChanged({ status }), "reason"), { now: NOW });

        // Assess
        expect(rulesOf(withReason)).toEqual(["reason:reason_forbidden"]);
        expect(withoutReason.ok).toBe(true);
      },
    );

    it("rejects a reason longer than 500 characters and accepts 500", () => {
      // Act
      const tooLong = validateV2(statusChanged({ reason: "r".repeat(501) }), { now: NOW });
      const atLimit = validateV2(statusChanged({ reason: "r".repeat(500) }), { now: NOW });

      // Assess
      expect(rulesOf(tooLong)).toEqual(["reason:max_length"]);
      expect(messagesOf(tooLong)).toEqual(["reason must be at most 500 characters (got 501)"]);
      expect(atLimit.ok).toBe(true);
    });

    it("rejects an empty reason", () => {
      // Act
      const result = validateV2(statusChanged({ reason: "" }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["reason:min_length"]);
    });

    it("accepts a status change without a position", () => {
      // Act
      const result = validateV2(without(statusChanged(), "lat", "lon"), { now: NOW });

      // Assess
      expect(result.ok).toBe(true);
    });

    it("requires lon when lat is given, and lat when lon is given", () => {
      // Act
      const latOnly = validateV2(without(statusChanged(), "lon"), { now: NOW });
      const lonOnly = validateV2(without(statusChanged(), "lat"), { now: NOW });

      // Assess
      expect(rulesOf(latOnly)).toEqual(["lon:required"]);
      expect(rulesOf(lonOnly)).toEqual(["lat:required"]);
    });

    it("rejects lat, lon = 0,0 as a missing position", () => {
      // Act
      const result = validateV2(statusChanged({ lat: 0, lon: 0 }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["lat:missing_position"]);
      expect(messagesOf(result)[0]).toContain("leave both out");
    });

    it("rejects an optional coordinate out of range", () => {
      // Act
      const result = validateV2(statusChanged({ lon: 181 }), { now: NOW });

      // Assess
      expect(rulesOf(result)).toEqual(["lon:range"]);
    });
  });

  it("keeps the largest valid event far below the 8 KiB limit, so sizes need measuring only on rejection", () => {
    // Prepare: every string at its longest, each character escaped to 6 bytes, numbers at their longest.
    const longestNumber = -1.2345678901234568e-300;
    const event = statusChanged({
      status: "cancelled",
      reason: "\u0001".repeat(500),
      occurred_at: "2024-05-01T13:30:00.123456789+03:00",
      lat: longestNumber,
      lon: longestNumber,
    });

    // Act
    const result = validateV2(event, { now: NOW });
    const bytes = Buffer.byteLength(JSON.stringify(event));

    // Assess
    expect(result.ok).toBe(true);
    expect(bytes).toBeLessThan(8192 / 2);
  });
});
