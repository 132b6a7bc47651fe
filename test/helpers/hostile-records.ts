import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { DEAD_LETTER_MAX_VALUE_BYTES } from "#shared/lambda/dead-letter.ts";

/**
 * Records of the `sessions` topic for fuzz tests of the Kafka consumers (Jupiter, Neptune): good events,
 * and hostile records (bad JSON, deep nesting, huge strings, wrong or garbage headers, base64 garbage,
 * null values, other topics, out-of-range timestamps), each with what every consumer must do with it.
 * They become Lambda's Kafka event (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html) through
 * {@link mskEvent}, with the base64 and header byte arrays Lambda sends.
 */

/** What a consumer must do with a record: keep it (a silver row, a bronze row) or dead-letter it. */
export type Outcome = "kept" | "dead";

export interface FuzzRecord {
  /** What the record is, for a failing case's report. */
  label: string;
  topic: string;
  /** Lambda's base64 key (null: a record without a key). */
  key: string | null;
  /** Lambda's base64 value, as sent (it may be garbage that is not base64 at all). */
  value: string | null;
  headers: Record<string, number[]>[];
  /** CreateTime in ms. */
  timestamp: number;
  /** The event id a kept record has in the table. */
  eventId?: string;
  expect: { jupiter: Outcome; neptune: Outcome };
}

/** The frame that stopped `npm start` (issue 13): 27 KB of JSON objects nested 4,500 levels deep. */
export const deepObjectText = (levels = 4500) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
/** Arrays nested deep enough to matter yet small enough (about 7 KB) to pass an 8 KB event size check. */
export const deepArrayText = (levels = 3500) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
/** A string of 1 MB. */
export const MEGABYTE_STRING = "x".repeat(1024 * 1024);

const base64 = (text: string | Uint8Array) => Buffer.from(text).toString("base64");
const headerBytes = (value: string | Uint8Array) => [...Buffer.from(value)];

/** The ids of one courier's session, fixed so that entity rows merge across records. */
const IDS = {
  device_id: "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
  vehicle_id: "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d",
  session_id: "0e1d2c3b-4a59-4867-a5b4-c3d2e1f0a9b8",
  order_id: "9f8e7d6c-5b4a-4392-8817-161514131211",
};

/** When the good events happened: a fixed day, so runs are comparable. */
const BASE_MS = Date.parse("2026-11-29T10:00:00Z");

export function v2PingEvent(eventId: string, occurredMs: number): Record<string, unknown> {
  return {
    event_id: eventId,
    event_type: "location_ping",
    schema_version: 2,
    occurred_at: new Date(occurredMs).toISOString(),
    ...IDS,
    lat: 37.9791,
    lon: 23.7311,
    speed_kmh: 24.5,
    heading_deg: 312,
    accuracy_m: 6,
  };
}

/** An original message as the devices send it: `timestamp` without a zone, with microseconds. */
export function v1MessageEvent(occurredMs: number): Record<string, unknown> {
  return {
    ...IDS,
    status: "en_route",
    timestamp: new Date(occurredMs).toISOString().replace("Z", "123"),
    start_lat: 37.9755,
    start_lon: 23.7348,
    end_lat: 37.9838,
    end_lon: 23.7275,
    current_lat: 37.9791,
    current_lon: 23.7311,
  };
}

interface GoodEvent {
  version: 1 | 2;
  event: Record<string, unknown>;
  /** The `event_id` header: a v2 event's own id; for v1, a fresh UUID in place of the one Venus derives. */
  eventId: string;
  occurredMs: number;
}

/**
 * A good event: a v2 location ping, or a v1 message. Ids come from randomUUID, not from fast-check: each
 * record of every run has its own, so rows of one run are never taken for another's.
 */
const goodEvent: fc.Arbitrary<GoodEvent> = fc
  .tuple(fc.constantFrom<1 | 2>(1, 2), fc.integer({ min: 0, max: 6 * 3_600_000 }))
  .map(([version, offsetMs]) => {
    const occurredMs = BASE_MS + offsetMs;
    const eventId = randomUUID();
    return version === 2
      ? { version, event: v2PingEvent(eventId, occurredMs), eventId, occurredMs }
      : { version, event: v1MessageEvent(occurredMs), eventId, occurredMs };
  });

const SESSIONS = "sessions";
/** The record's value given as bytes already; base64 of them is what Lambda sends. */
type Draft = Omit<FuzzRecord, "value" | "key" | "topic" | "headers" | "timestamp"> & {
  value: string | Uint8Array | null;
  rawValue?: string;
  key?: string | null;
  topic?: string;
  headers?: Record<string, string | Uint8Array>;
  timestamp?: number;
};

function finish(draft: Draft, occurredMs: number): FuzzRecord {
  const record: FuzzRecord = {
    label: draft.label,
    topic: draft.topic ?? SESSIONS,
    key: draft.key === undefined ? base64(IDS.device_id) : draft.key,
    value: draft.rawValue ?? (draft.value === null ? null : base64(draft.value)),
    headers: Object.entries(draft.headers ?? {}).map(([name, value]) => ({ [name]: headerBytes(value) })),
    timestamp: draft.timestamp ?? occurredMs + 2_000,
    ...(draft.eventId ? { eventId: draft.eventId } : {}),
    expect: draft.expect,
  };
  // A failing case is reported by what its records are, not by megabytes of base64.
  Object.defineProperty(record, fc.toStringMethod, {
    value: () => `${record.label} (${record.value?.length ?? 0} base64 chars, topic ${record.topic})`,
  });
  return record;
}

const venusHeaders = (good: GoodEvent) => ({ event_id: good.eventId, schema_version: String(good.version) });
const KEPT = { jupiter: "kept", neptune: "kept" } as const;
const DEAD = { jupiter: "dead", neptune: "dead" } as const;

/**
 * Good records as Venus writes them, and with headers, keys and topics Venus never writes around a good
 * value: the consumers judge a record by its value.
 */
export const goodRecord: fc.Arbitrary<FuzzRecord> = fc
  .tuple(
    goodEvent,
    fc.constantFrom(
      "as Venus writes it",
      "no headers",
      "garbage schema_version",
      "extra headers",
      "no key",
      "garbage key",
      "another topic",
    ),
    fc.oneof(fc.constantFrom("3", "", "two", MEGABYTE_STRING.slice(0, 4096)), fc.string({ maxLength: 20 })),
  )
  .map(([good, variant, garbage]) => {
    const base: Draft = {
      label: `good v${good.version} (${variant})`,
      value: JSON.stringify(good.event),
      headers: venusHeaders(good),
      eventId: good.eventId,
      expect: KEPT,
    };
    switch (variant) {
      case "no headers":
        // Without Venus's header a v1 message's id is derived from its content, as Venus derives it.
        return finish(
          good.version === 1 ? { ...base, headers: {}, eventId: undefined } : { ...base, headers: {} },
          good.occurredMs,
        );
      case "garbage schema_version":
        // Neither "1" nor "2": the version is read from the value.
        return finish(
          {
            ...base,
            headers: {
              ...venusHeaders(good),
              schema_version: garbage === "1" || garbage === "2" ? "7" : garbage,
            },
          },
          good.occurredMs,
        );
      case "extra headers":
        return finish(
          { ...base, headers: { ...venusHeaders(good), [`x-${garbage}`]: garbage, "": "" } },
          good.occurredMs,
        );
      case "no key":
        return finish({ ...base, key: null }, good.occurredMs);
      case "garbage key":
        return finish({ ...base, key: base64(Uint8Array.from([0xff, 0xfe, 0x00, 0xc3])) }, good.occurredMs);
      case "another topic":
        return finish({ ...base, topic: "not-sessions" }, good.occurredMs);
      default:
        return finish(base, good.occurredMs);
    }
  });

/** JSON values of a type no contract field of that kind has: each field's column refuses them too. */
const WRONG_TYPED = {
  string: [
    { name: "an object", value: { nested: { deeper: [1, 2, 3] } } },
    { name: "an array", value: [1, "two", null] },
    { name: "true", value: true },
    { name: "a number", value: 42.5 },
  ],
  number: [
    { name: "an object", value: { nested: { deeper: [1, 2, 3] } } },
    { name: "true", value: true },
    { name: "a 1 MB string", value: MEGABYTE_STRING },
    { name: "a numeric string", value: "37.9" },
  ],
};

const V2_STRING_FIELDS = ["event_id", "occurred_at", "device_id", "vehicle_id", "session_id", "order_id"];
const V2_NUMBER_FIELDS = ["lat", "lon", "speed_kmh", "heading_deg", "accuracy_m"];
const V1_STRING_FIELDS = ["device_id", "vehicle_id", "session_id", "order_id", "timestamp"];
const V1_NUMBER_FIELDS = ["start_lat", "start_lon", "end_lat", "end_lon", "current_lat", "current_lon"];

/** A valid event's JSON with one field's value given as raw text (nesting JSON.stringify cannot write). */
const withRawField = (event: Record<string, unknown>, field: string, rawJson: string) =>
  JSON.stringify({ ...event, [field]: "\u0000placeholder" }).replace('"\\u0000placeholder"', rawJson);

/** Hostile records: each must be dead-lettered, with its reason, by each consumer its `expect` names. */
export const hostileRecord: fc.Arbitrary<FuzzRecord> = fc
  .oneof(
    // Bad JSON: arbitrary text, arbitrary bytes (invalid UTF-8 included), a good event cut short.
    fc
      .string({ maxLength: 200 })
      .filter((text) => !isJson(text))
      .map((text) => ({ label: "text that is not JSON", value: text, expect: DEAD })),
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .filter((bytes) => !isJson(Buffer.from(bytes).toString("utf8")))
      .map((bytes) => ({ label: "bytes that are not JSON", value: bytes, expect: DEAD })),
    fc.tuple(goodEvent, fc.integer({ min: 1, max: 150 })).map(([good, cut]) => ({
      label: "a good event cut short",
      value: JSON.stringify(good.event).slice(0, cut),
      headers: venusHeaders(good),
      expect: DEAD,
    })),
    // JSON that is not an event at all.
    fc
      .jsonValue({ maxDepth: 4 })
      .map((json) => ({ label: "arbitrary JSON", value: JSON.stringify(json), expect: DEAD })),
    // A field of a good event replaced by a value of the wrong type (deep nesting and 1 MB strings included).
    fc.tuple(goodEvent, fc.nat(), fc.nat(), fc.boolean()).map(([good, pickField, pickValue, deep]) => {
      const strings = good.version === 2 ? V2_STRING_FIELDS : V1_STRING_FIELDS;
      const fields = [...strings, ...(good.version === 2 ? V2_NUMBER_FIELDS : V1_NUMBER_FIELDS)];
      const field = fields[pickField % fields.length]!;
      const candidates = strings.includes(field) ? WRONG_TYPED.string : WRONG_TYPED.number;
      const wrong = candidates[pickValue % candidates.length]!;
      const value = deep
        ? withRawField(good.event, field, deepArrayText())
        : JSON.stringify({ ...good.event, [field]: wrong.value });
      return {
        label: `v${good.version} ${field} as ${deep ? "arrays nested 3,500 deep" : wrong.name}`,
        value,
        headers: venusHeaders(good),
        expect: DEAD,
      };
    }),
    // Headers that contradict the value.
    goodEvent.map((good) => ({
      label: `v${good.version} value under schema_version ${good.version === 1 ? 2 : 1}`,
      value: JSON.stringify(good.event),
      headers: { ...venusHeaders(good), schema_version: good.version === 1 ? "2" : "1" },
      expect: DEAD,
    })),
    // A v1 message whose event_id header is not an id: silver needs a UUID; bronze keeps the raw history.
    fc
      .tuple(
        goodEvent.filter((good) => good.version === 1),
        fc.constantFrom<string | Uint8Array>(
          "not-an-id",
          '","injected","',
          "a\nb",
          Uint8Array.from([0xff, 0xfe, 0xfd]),
          MEGABYTE_STRING,
        ),
      )
      .map(([good, eventId]) => ({
        label: "v1 message with a garbage event_id header",
        value: JSON.stringify(good.event),
        headers: { event_id: eventId, schema_version: "1" },
        expect: { jupiter: "dead", neptune: "kept" } as const,
      })),
    // Kafka timestamps (CreateTime, set by any producer) no event can have been received at: before the event
    // happened, or beyond what a date can hold (Kafka's are 64-bit).
    // Bronze keeps a receive time before the event (it does not judge time rules), not one beyond a date.
    fc
      .tuple(goodEvent, fc.constantFrom(-1, 0, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, 2 ** 63))
      .map(([good, timestamp]) => ({
        label: `v${good.version} event received at ${timestamp}`,
        value: JSON.stringify(good.event),
        headers: venusHeaders(good),
        timestamp,
        eventId: good.eventId,
        expect: timestamp <= 0 ? ({ jupiter: "dead", neptune: "kept" } as const) : DEAD,
      })),
    // Values that are empty, null or not base64 at all.
    fc.constantFrom(
      { label: "null value", value: null, expect: DEAD },
      { label: "empty value", value: "", expect: DEAD },
      { label: "value that is not base64", value: null, rawValue: "!!!% not base64 ~~~", expect: DEAD },
      { label: "value with base64 and garbage", value: null, rawValue: "eyJh*&^%$#@!IjoxfQ==", expect: DEAD },
    ),
  )
  .map((draft: Draft) => finish(draft, BASE_MS));

/** Whether `text` parses as JSON. */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The fixed seed corpus: the cases of issue 13, always run first. */
export function seedCorpus(): FuzzRecord[] {
  const good = (version: 1 | 2, minutes: number): GoodEvent => {
    const occurredMs = BASE_MS + minutes * 60_000;
    const eventId = randomUUID();
    return version === 2
      ? { version, event: v2PingEvent(eventId, occurredMs), eventId, occurredMs }
      : { version, event: v1MessageEvent(occurredMs), eventId, occurredMs };
  };
  const g1 = good(1, 1);
  const g2 = good(2, 2);
  const drafts: Draft[] = [
    { label: "deep nesting: 27 KB, 4,500 levels", value: deepObjectText(), expect: DEAD },
    {
      label: "deep nesting inside a v2 event",
      value: withRawField(g2.event, "lat", deepObjectText()),
      headers: venusHeaders(g2),
      expect: DEAD,
    },
    {
      label: "deep nesting in an extra v2 field under 8 KB",
      value: withRawField(g2.event, "extra", deepArrayText()),
      headers: venusHeaders(g2),
      // v2 has no extra fields; bronze keeps what it can type, and the unknown field stays in the payload.
      expect: { jupiter: "dead", neptune: "kept" },
      eventId: g2.eventId,
    },
    {
      label: "deep nesting in a v1 field under 8 KB",
      value: withRawField(g1.event, "current_lat", deepArrayText()),
      headers: venusHeaders(g1),
      expect: DEAD,
    },
    { label: "a 1 MB JSON string", value: JSON.stringify(MEGABYTE_STRING), expect: DEAD },
    {
      label: "a 1 MB device_id",
      value: JSON.stringify({ ...g2.event, device_id: MEGABYTE_STRING }),
      headers: venusHeaders(g2),
      // Bronze keeps any string a string column can hold; silver checks the id.
      expect: { jupiter: "dead", neptune: "kept" },
      eventId: g2.eventId,
    },
    { label: "value that is not base64", value: null, rawValue: "%%%%", expect: DEAD },
    { label: "null value", value: null, expect: DEAD },
    { label: "JSON null", value: "null", expect: DEAD },
    {
      label: "v1 with a CSV-breaking event_id header",
      value: JSON.stringify(g1.event),
      headers: { event_id: '","x","', schema_version: "1" },
      expect: { jupiter: "dead", neptune: "kept" },
    },
    {
      label: "bad JSON on another topic",
      value: "{nope",
      topic: "not-sessions",
      expect: DEAD,
    },
  ];
  return drafts.map((draft) => finish(draft, BASE_MS));
}

/** `count` good v2 pings as Venus writes them, a second apart. */
export function goodPings(count: number): FuzzRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const occurredMs = BASE_MS + i * 1_000;
    const eventId = randomUUID();
    return finish(
      {
        label: "good v2 (as Venus writes it)",
        value: JSON.stringify(v2PingEvent(eventId, occurredMs)),
        headers: { event_id: eventId, schema_version: "2" },
        eventId,
        expect: KEPT,
      },
      occurredMs,
    );
  });
}

/** Lambda's Kafka (MSK) event for `records`, offsets from `firstOffset` in the order given. */
export function mskEvent(records: readonly FuzzRecord[], firstOffset: number, partition = 0) {
  const groups: Record<string, unknown[]> = {};
  records.forEach((record, i) => {
    const group = `${record.topic}-${partition}`;
    groups[group] ??= [];
    groups[group].push({
      topic: record.topic,
      partition,
      offset: firstOffset + i,
      timestamp: record.timestamp,
      timestampType: "CREATE_TIME",
      ...(record.key === null ? {} : { key: record.key }),
      value: record.value,
      headers: record.headers,
    });
  });
  return {
    eventSource: "aws:kafka",
    eventSourceArn: "arn:aws:kafka:us-east-1:123456789012:cluster/packetpulse/fuzz",
    bootstrapServers: "b-1.packetpulse.fuzz:9098",
    records: groups,
  };
}

/**
 * What a dead letter of `record` carries: its value, or the first bytes of a longer one with the full size
 * in a header (shared/lambda/dead-letter.ts).
 */
export function expectedDeadLetter(record: FuzzRecord): { value: Buffer; originalValueBytes?: string } {
  const value = Buffer.from(record.value ?? "", "base64");
  return value.length > DEAD_LETTER_MAX_VALUE_BYTES
    ? { value: value.subarray(0, DEAD_LETTER_MAX_VALUE_BYTES), originalValueBytes: String(value.length) }
    : { value };
}

/** A batch: good records and hostile ones, mixed in any order. */
export const mixedBatch: fc.Arbitrary<FuzzRecord[]> = fc
  .tuple(
    fc.array(goodRecord, { minLength: 1, maxLength: 8 }),
    fc.array(hostileRecord, { minLength: 1, maxLength: 6 }),
  )
  .chain(([good, hostile]) =>
    fc.shuffledSubarray([...good, ...hostile], { minLength: good.length + hostile.length }),
  );
