import { afterEach, describe, expect, it } from "vitest";
import {
  EventContractError,
  occurredAtMs,
  parseTimestampMs,
  V1_EVENT_ID_NAMESPACE,
  V1_FIELDS,
  type V1Message,
  type V2Event,
  v1CanonicalName,
  v1EventId,
} from "#shared/events/index.ts";
import { RFC4122_URL_NAMESPACE, uuidV5 } from "#shared/events/uuid.ts";
import { example } from "#test/helpers/examples.ts";

const v1Message = (overrides: Partial<V1Message> = {}): V1Message => ({
  ...example<V1Message>("v1-message"),
  ...overrides,
});

const V5_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A different valid value for each field of the example message. */
const CHANGED: { [K in keyof V1Message]: V1Message[K] } = {
  device_id: "bb2d0a6c-54c3-4a47-bc48-6b7f0b4d1a11",
  vehicle_id: "cc2d0a6c-54c3-4a47-bc48-6b7f0b4d1a11",
  session_id: "dd2d0a6c-54c3-4a47-bc48-6b7f0b4d1a11",
  order_id: "ee2d0a6c-54c3-4a47-bc48-6b7f0b4d1a11",
  status: "completed",
  timestamp: "2024-05-01T10:31:15.251",
  start_lat: 37.97555,
  start_lon: 23.73484,
  end_lat: 37.98382,
  end_lon: 23.72755,
  current_lat: 37.97913,
  current_lon: 23.73122,
};

describe("uuidV5", () => {
  it("matches the RFC 4122 name-based algorithm (Python's uuid5 for python.org in the DNS namespace)", () => {
    // Act
    const uuid = uuidV5("python.org", "6ba7b810-9dad-11d1-80b4-00c04fd430c8");

    // Assess
    expect(uuid).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
  });

  it("derives the PacketPulse namespace from urn:packetpulse:event-id:v1", () => {
    // Act
    const namespace = uuidV5("urn:packetpulse:event-id:v1", RFC4122_URL_NAMESPACE);

    // Assess
    expect(namespace).toBe(V1_EVENT_ID_NAMESPACE);
  });
});

describe("v1EventId", () => {
  it("gives the documented id for the example message", () => {
    // Act
    const eventId = v1EventId(v1Message());

    // Assess: docs/events.md quotes this value so that other implementations can check theirs.
    expect(eventId).toBe("73b0904a-d6ac-5cc8-9bc8-2a58943c256c");
  });

  it("returns a lowercase version 5, RFC 4122 variant UUID", () => {
    // Act
    const eventId = v1EventId(v1Message());

    // Assess
    expect(eventId).toMatch(V5_UUID);
  });

  it("gives the same id for the same content, whatever the key order", () => {
    // Prepare
    const message = v1Message();
    const reordered = Object.fromEntries(Object.entries(message).reverse()) as V1Message;

    // Act
    const ids = [v1EventId(message), v1EventId(structuredClone(message)), v1EventId(reordered)];

    // Assess
    expect(new Set(ids).size).toBe(1);
  });

  it.each(V1_FIELDS)("changes when %s changes", (field) => {
    // Prepare
    const original = v1Message();
    const changed = v1Message({ [field]: CHANGED[field] });

    // Act
    const originalId = v1EventId(original);
    const changedId = v1EventId(changed);

    // Assess
    expect(changedId).not.toBe(originalId);
  });

  it("gives the same id for the same instant written in different zones", () => {
    // Prepare
    const spellings = [
      "2024-05-01T10:31:15.250",
      "2024-05-01T10:31:15.250Z",
      "2024-05-01T13:31:15.25+03:00",
      "2024-05-01T06:31:15.250-0400",
    ];

    // Act
    const ids = spellings.map((timestamp) => v1EventId(v1Message({ timestamp })));

    // Assess
    expect(new Set(ids).size).toBe(1);
  });

  it("ignores the case of UUID hex digits", () => {
    // Prepare
    const message = v1Message();
    const upper = v1Message({
      device_id: message.device_id.toUpperCase(),
      order_id: message.order_id.toUpperCase(),
    });

    // Act
    const ids = [v1EventId(message), v1EventId(upper)];

    // Assess
    expect(ids[0]).toBe(ids[1]);
  });

  it("names the content as a JSON array in V1_FIELDS order with the timestamp in UTC", () => {
    // Act
    const name = v1CanonicalName(v1Message({ timestamp: "2024-05-01T13:31:15.25+03:00" }));

    // Assess
    expect(JSON.parse(name)).toEqual([
      "934b40e5-89b9-4513-b11a-4d4eb90c8a2a",
      "f9200263-bc90-40fd-adb3-e8915f47dc48",
      "a3e2bbc6-61a2-4ca5-9639-3323bbbd5f04",
      "e60ae3f4-4206-4bc6-b0f4-675a2c7e6e92",
      "en_route",
      "2024-05-01T10:31:15.250Z",
      37.97554,
      23.73483,
      37.98381,
      23.72754,
      37.97912,
      23.73121,
    ]);
  });

  it("throws EventContractError for a message that was never validated", () => {
    // Prepare
    const message = v1Message({ timestamp: "soon" });

    // Act
    const derive = () => v1EventId(message);

    // Assess
    expect(derive).toThrow(EventContractError);
  });
});

describe("occurredAtMs", () => {
  const originalTz = process.env.TZ;
  afterEach(() => {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  it("reads a zone-less v1 timestamp as UTC whatever the process time zone", () => {
    // Prepare
    process.env.TZ = "Asia/Kolkata";
    const message = v1Message({ timestamp: "2024-05-01T10:31:15.250" });

    // Act
    const ms = occurredAtMs(message);

    // Assess
    expect(ms).toBe(Date.UTC(2024, 4, 1, 10, 31, 15, 250));
  });

  it("returns a v2 event's occurred_at with its offset applied", () => {
    // Prepare
    const ping = example<V2Event>("v2-location-ping");

    // Act
    const ms = occurredAtMs(ping);

    // Assess
    expect(ping.occurred_at).toBe("2024-05-01T13:31:15.250+03:00");
    expect(ms).toBe(Date.UTC(2024, 4, 1, 10, 31, 15, 250));
  });

  it("throws EventContractError for an unparseable time", () => {
    // Prepare
    const ping = { ...example<V2Event>("v2-location-ping"), occurred_at: "later" };

    // Act
    const read = () => occurredAtMs(ping);

    // Assess
    expect(read).toThrow(EventContractError);
  });
});

describe("parseTimestampMs", () => {
  it.each([
    ["2024-05-01T10:30:00Z", Date.UTC(2024, 4, 1, 10, 30)],
    ["2024-05-01T10:30:00", Date.UTC(2024, 4, 1, 10, 30)],
    ["2024-05-01T10:30:00.5Z", Date.UTC(2024, 4, 1, 10, 30, 0, 500)],
    ["2024-05-01T10:30:00.123999Z", Date.UTC(2024, 4, 1, 10, 30, 0, 123)],
    ["2024-05-01T12:30:00+02:00", Date.UTC(2024, 4, 1, 10, 30)],
    ["2024-05-01T05:00:00-0530", Date.UTC(2024, 4, 1, 10, 30)],
    ["2024-01-01T00:30:00+01:00", Date.UTC(2023, 11, 31, 23, 30)],
    ["0050-01-01T00:00:00Z", -60589296000000],
  ])("reads %j", (text, expected) => {
    // Act
    const ms = parseTimestampMs(text);

    // Assess
    expect(ms).toBe(expected);
  });

  it.each(["", "2024-05-01", "2024-02-30T00:00:00Z", "2024-05-01T10:30:00+23:60", "2024-05-01T10:30:00ZZ"])(
    "returns NaN for %j",
    (text) => {
      // Act
      const ms = parseTimestampMs(text);

      // Assess
      expect(ms).toBeNaN();
    },
  );
});
