import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { simulate } from "#mars/simulate.ts";
import { toV1 } from "#mars/v1.ts";
import { V2_EVENT_TYPES, V2_STATUSES, VEHICLE_TYPES } from "#shared/events/constants.ts";
import {
  V1_FIELDS,
  type ValidateOptions,
  type Validation,
  v1MessageSchema,
  validateV1,
  validateV2,
} from "#shared/events/index.ts";
import { compilePrecheck } from "#shared/events/precheck.ts";
import { isUuid, UUID_PATTERN } from "#shared/events/uuid.ts";
import { V2_EVENT_SCHEMAS } from "#shared/events/v2.ts";
import { validateV1Reference, validateV2Reference } from "#shared/events/validate.ts";
import { dateTimeLike } from "#test/helpers/date-times.ts";

/**
 * The validators answer valid events from a compiled pre-check and run zod only on the others. These
 * properties hold them to the zod-only reference path on valid, mutated and arbitrary input: same verdict,
 * same value (fields, undefined ones and key order included), same issues in the same order.
 */

type EventRecord = Record<string, unknown>;
type StrictSchema = typeof v1MessageSchema | (typeof V2_EVENT_SCHEMAS)[keyof typeof V2_EVENT_SCHEMAS];

const NOW = new Date("2024-05-02T00:00:00Z");
const OPTIONS: ValidateOptions = { now: NOW };

let v2Events: EventRecord[];
let v1Messages: EventRecord[];

beforeAll(() => {
  const simulated = [
    ...simulate({
      seed: "fast-validation",
      sessions: 30,
      startMs: Date.UTC(2024, 4, 1, 8, 0),
      hours: 3,
      couriers: 5,
      cancelRate: 0.2,
      failRate: 0.2,
      updateIntervalS: 60,
    }),
  ].map(({ event }) => event);
  // Through JSON, as the consumers receive them.
  v2Events = simulated.map((event) => JSON.parse(JSON.stringify(event)));
  v1Messages = [...toV1(simulated)].map((message) => JSON.parse(JSON.stringify(message)));
});

/** Both paths agree: verdict, issues in order, value (including undefined fields and key order). */
function expectSameVerdict(fast: Validation<unknown>, reference: Validation<unknown>): void {
  expect(fast).toStrictEqual(reference);
  if (fast.ok && reference.ok) {
    expect(Object.keys(fast.value as object)).toEqual(Object.keys(reference.value as object));
  }
}

function expectSameV2(input: unknown, options: ValidateOptions = OPTIONS): void {
  expectSameVerdict(validateV2(input, options), validateV2Reference(input, options));
}

function expectSameV1(input: unknown, options: ValidateOptions = OPTIONS): void {
  expectSameVerdict(validateV1(input, options), validateV1Reference(input, options));
}

const UUID = "3f2b8c1e-6d4a-4e8b-9c2f-1a7d5e9b0c34";

/** Strings near a UUID: one character changed, dropped or added, other case, other version or variant. */
const uuidLike = fc.oneof(
  fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] }),
  fc.uuid().map((uuid) => uuid.toUpperCase()),
  fc
    .tuple(fc.nat({ max: 35 }), fc.constantFrom(..."0123456789abcdefABCDEFgG-xZ é\u0000"))
    .map(([index, char]) => `${UUID.slice(0, index)}${char}${UUID.slice(index + 1)}`),
  fc.nat({ max: 35 }).map((index) => `${UUID.slice(0, index)}${UUID.slice(index + 1)}`),
  fc.nat({ max: 36 }).map((index) => `${UUID.slice(0, index)}a${UUID.slice(index)}`),
  fc.constantFrom(
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    `${UUID}\n`,
    ` ${UUID}`,
    UUID.replaceAll("-", ""),
  ),
);

/**
 * Date-times near the contract's shape: any digits in every field (so Feb 30, hour 24, minute 60), years
 * around the epoch and the clock, fractions of 0-11 digits, every zone form, and an odd character anywhere.
 */
const timestampLike = fc.oneof(
  dateTimeLike,
  fc
    .tuple(
      fc.date({ min: new Date("2019-06-01"), max: new Date("2024-06-01"), noInvalidDate: true }),
      fc.nat(),
    )
    .map(([date, n]) => {
      const iso = date.toISOString();
      // The simulator's shape, its truncations, and local time with an offset.
      return [
        iso,
        iso.slice(0, 19),
        `${iso.slice(0, 19)}Z`,
        `${iso.slice(0, 22)}Z`,
        `${iso.slice(0, 19)}+02:00`,
      ][n % 5]!;
    }),
  fc
    .tuple(
      fc.constantFrom("2024-05-01T10:30:00.250Z", "2024-05-01T10:30:00"),
      fc.nat(),
      fc.string({ maxLength: 2 }),
    )
    .map(([text, index, insert]) => {
      const at = index % (text.length + 1);
      return `${text.slice(0, at)}${insert}${text.slice(at + 1)}`;
    }),
);

const BOUNDS = [-180, -90, 0, 2, 90, 180, 250, 360, 10_000];

/** Numbers on, just inside and just outside every bound of the contract, and the ones JSON cannot carry. */
const numberLike = fc.oneof(
  fc.constantFrom(...BOUNDS, -0),
  fc
    .tuple(fc.constantFrom(...BOUNDS), fc.constantFrom(-1e-7, 1e-7, -1, 1))
    .map(([bound, step]) => bound + step),
  fc.constantFrom(Number.MIN_VALUE, -Number.MIN_VALUE, 1e21, Number.MAX_VALUE, "2", "90", null),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.double({ min: -400, max: 11_000 }),
  fc.integer(),
);

/** Reasons around the length bounds (1-500 UTF-16 units); an emoji is two units but one code point. */
const reasonLike = fc.oneof(
  fc.constantFrom("", " ", "x", "x".repeat(499), "x".repeat(500), "x".repeat(501)),
  fc.constantFrom("😀".repeat(250), "😀".repeat(251), `${"x".repeat(499)}😀`, "é".repeat(500)),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }),
  fc.constantFrom(2, null, [], { reason: "x" }),
);

/** Every enum value of the contract (valid in its own field, wrong in any other), and near misses. */
const ENUM_VALUES = [
  ...new Set<string>([...V2_EVENT_TYPES, ...V2_STATUSES, ...VEHICLE_TYPES]),
  "Started",
  "v1_message",
  "",
];

/** Any value a field could hold, valid or not. */
const fieldValue = fc.oneof(
  uuidLike,
  timestampLike,
  numberLike,
  fc.constantFrom(...ENUM_VALUES),
  fc.constantFrom(null, undefined, true, false, [], {}, [1, 2], { lat: 1 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }),
  fc.constantFrom("x".repeat(500), "x".repeat(501), "😀".repeat(250), "😀".repeat(251), "é".repeat(10_000)),
  fc.jsonValue({ maxDepth: 2 }),
);

const EXTRA_KEYS = ["extra", "Lat", "event_type ", "__proto__", "constructor", "toString", "0", ""];

const UUID_FIELDS = new Set(["event_id", "device_id", "vehicle_id", "session_id", "order_id"]);
const TIMESTAMP_FIELDS = new Set(["occurred_at", "promised_at", "timestamp"]);
const ENUM_FIELDS = new Set(["event_type", "status", "vehicle_type"]);

/** Values a field of that name is likely to get wrong, or only just right. */
function valueFor(field: string): fc.Arbitrary<unknown> {
  if (UUID_FIELDS.has(field)) return uuidLike;
  if (TIMESTAMP_FIELDS.has(field)) return timestampLike;
  if (ENUM_FIELDS.has(field)) return fc.constantFrom(...ENUM_VALUES);
  if (field === "reason") return reasonLike;
  return numberLike;
}

/** Stands for "leave the field out" in generated field values. */
const ABSENT = Symbol("absent");

type Mutation = (event: EventRecord) => void;

function mutationsFor(own: readonly string[], others: readonly string[]): fc.Arbitrary<Mutation> {
  const field = fc.oneof({ arbitrary: fc.constantFrom(...own), weight: 5 }, fc.constantFrom(...others));
  const set = (name: string, value: unknown) => (event: EventRecord) => {
    event[name] = value;
  };
  return fc.oneof(
    field.map((name) => (event: EventRecord) => {
      delete event[name];
    }),
    { arbitrary: field.chain((name) => valueFor(name).map((value) => set(name, value))), weight: 4 },
    fc.tuple(field, fieldValue).map(([name, value]) => set(name, value)),
    fc.tuple(fc.constantFrom(...EXTRA_KEYS), fieldValue).map(([name, value]) => (event: EventRecord) => {
      // defineProperty, so "__proto__" is an own field as JSON.parse makes it, not a prototype.
      Object.defineProperty(event, name, { value, enumerable: true, configurable: true, writable: true });
    }),
    fc.tuple(field, field).map(([a, b]) => (event: EventRecord) => {
      const value = event[a];
      event[a] = event[b];
      event[b] = value;
    }),
  );
}

/**
 * Events of every kind alike (pings are most of a simulation), each with 1-4 mutations, mostly of its own
 * fields, sometimes of `others` (the other kinds' fields).
 */
function mutated(events: () => EventRecord[], others: readonly string[]): fc.Arbitrary<EventRecord> {
  return fc.tuple(fc.nat(), fc.nat()).chain(([kindIndex, index]) => {
    const all = events();
    const kinds = [...new Set(all.map((event) => String(event.event_type ?? event.status)))];
    const ofKind = all.filter(
      (event) => String(event.event_type ?? event.status) === kinds[kindIndex % kinds.length],
    );
    const event = ofKind[index % ofKind.length]!;
    return fc
      .array(mutationsFor(Object.keys(event), others), { minLength: 1, maxLength: 4 })
      .map((mutations) => {
        const copy = { ...event };
        for (const mutate of mutations) mutate(copy);
        return copy;
      });
  });
}

const V2_FIELDS = [
  ...new Set(Object.values(V2_EVENT_SCHEMAS).flatMap((schema) => Object.keys(schema.shape))),
];
const ALL_FIELDS = [...new Set([...V2_FIELDS, ...V1_FIELDS])];

describe("fast validation against the zod-only reference", () => {
  it("gives every simulated v2 event and v1 message the same verdict and value", () => {
    // Act + Assess
    for (const event of v2Events) expectSameV2(event);
    for (const message of v1Messages) expectSameV1(message);
    expect(v2Events.every((event) => validateV2(event, OPTIONS).ok)).toBe(true);
    expect(v1Messages.every((message) => validateV1(message, OPTIONS).ok)).toBe(true);
  });

  it("agrees on v2 events with fields removed, replaced, swapped or added", () => {
    // Prepare
    const events = mutated(() => v2Events, ALL_FIELDS);

    // Act + Assess
    fc.assert(
      fc.property(events, (event) => expectSameV2(event)),
      { numRuns: 6000 },
    );
  });

  it("agrees on v1 messages with fields removed, replaced, swapped or added", () => {
    // Prepare
    const messages = mutated(() => v1Messages, ["event_id", "lat", "reason"]);

    // Act + Assess
    fc.assert(
      fc.property(messages, (message) => expectSameV1(message)),
      { numRuns: 4000 },
    );
  });

  it("agrees on events whose only change is a time: offsets, no zone, fractions of 1-9 digits and more", () => {
    // Prepare
    const v2 = fc
      .tuple(fc.nat(), fc.constantFrom("occurred_at", "promised_at"), timestampLike)
      .map(([index, field, text]) => {
        const starts = v2Events.filter((event) => event.event_type === "session_started");
        const all = field === "promised_at" ? starts : v2Events;
        return { ...all[index % all.length]!, [field]: text };
      });
    const v1 = fc
      .tuple(fc.nat(), timestampLike)
      .map(([index, text]) => ({ ...v1Messages[index % v1Messages.length]!, timestamp: text }));

    // Act + Assess
    fc.assert(
      fc.property(v2, v1, (event, message) => {
        expectSameV2(event);
        expectSameV1(message);
      }),
      { numRuns: 4000 },
    );
  });

  it("agrees on status changes with any status, reason and position", () => {
    // Prepare
    const maybe = (value: fc.Arbitrary<unknown>) =>
      fc.oneof(fc.constant(ABSENT), fc.constant(undefined), value, value);
    const changes = fc
      .record({
        index: fc.nat(),
        status: fc.constantFrom(...ENUM_VALUES, 2),
        reason: maybe(reasonLike),
        lat: maybe(numberLike),
        lon: maybe(numberLike),
      })
      .map(({ index, ...fields }) => {
        const all = v2Events.filter((event) => event.event_type === "status_changed");
        const event = { ...all[index % all.length]! };
        for (const [name, value] of Object.entries(fields)) {
          if (value === ABSENT) delete event[name];
          else event[name] = value;
        }
        return event;
      });

    // Act + Assess
    fc.assert(
      fc.property(changes, (event) => expectSameV2(event)),
      { numRuns: 4000 },
    );
  });

  it("agrees on positions at 0,0 (or -0), a coordinate missing, and promised_at before occurred_at", () => {
    // Prepare
    const zero = fc.constantFrom(0, -0, ABSENT, 0.5);
    const withPositions = (events: () => EventRecord[], pairs: readonly (readonly [string, string])[]) =>
      fc.tuple(fc.nat(), fc.nat(), zero, zero).map(([index, pair, lat, lon]) => {
        const all = events();
        const event = { ...all[index % all.length]! };
        const [latField, lonField] = pairs[pair % pairs.length]!;
        for (const [name, value] of [
          [latField, lat],
          [lonField, lon],
        ] as const) {
          if (value === ABSENT) delete event[name];
          else event[name] = value;
        }
        return event;
      });
    const v2 = withPositions(
      () => v2Events,
      [
        ["lat", "lon"],
        ["pickup_lat", "pickup_lon"],
        ["dropoff_lat", "dropoff_lon"],
      ],
    );
    const v1 = withPositions(
      () => v1Messages,
      [
        ["start_lat", "start_lon"],
        ["end_lat", "end_lon"],
        ["current_lat", "current_lon"],
      ],
    );
    const starts = fc.tuple(fc.nat(), fc.integer({ min: -3, max: 3 })).map(([index, minutes]) => {
      const all = v2Events.filter((event) => event.event_type === "session_started");
      const event = { ...all[index % all.length]! };
      const promised = Date.parse(String(event.occurred_at)) + minutes * 60_000;
      return { ...event, promised_at: new Date(promised).toISOString() };
    });

    // Act + Assess
    fc.assert(
      fc.property(v2, v1, starts, (event, message, start) => {
        expectSameV2(event);
        expectSameV1(message);
        expectSameV2(start);
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees on arbitrary JSON values and objects, and on every validation option", () => {
    // Prepare
    const input = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom(...ALL_FIELDS), fieldValue),
      fc.constantFrom(null, undefined, [], "location_ping", 2, Object.create(null)),
    );
    const options = fc.record(
      {
        now: fc.oneof(fc.date(), fc.constant(new Date(Number.NaN))),
        nowMs: fc.oneof(fc.integer({ min: -1e12, max: 4e12 }), fc.constant(Number.NaN)),
        maxFutureSkewMs: fc.integer({ min: -1000, max: 10_000_000 }),
        byteLength: fc.integer({ min: 0, max: 10_000 }),
      },
      { requiredKeys: [] },
    );
    // Without a valid `now` both read the clock, in calls a millisecond apart: stop it, so their messages
    // (which print the time) can be compared.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.parse("2026-11-29T12:00:00.000Z") });

    // Act + Assess
    try {
      fc.assert(
        fc.property(input, options, (value, given) => {
          expectSameV2(value, given);
          expectSameV1(value, given);
        }),
        { numRuns: 3000 },
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it("agrees on objects that are not plain: inherited fields, no prototype, optional fields set to undefined", () => {
    // Prepare
    const ping = v2Events.find((event) => event.event_type === "location_ping")!;
    const status = v2Events.find((event) => event.event_type === "status_changed" && "lat" in event)!;
    const message = v1Messages[0]!;
    const inputs: unknown[] = [
      Object.assign(Object.create({ lat: 0, lon: 0 }), ping),
      Object.assign(Object.create(ping), { extra: 1 }),
      Object.create(ping),
      Object.assign(Object.create(null), ping),
      Object.assign(Object.create(null), message),
      Object.assign(Object.create({ current_lat: 0 }), { ...message, current_lat: undefined }),
      { ...status, reason: undefined },
      { ...status, lat: undefined, lon: undefined },
      { ...status, lat: undefined },
      JSON.parse(JSON.stringify(ping).replace("{", '{"__proto__":{"lat":0},')),
    ];

    // Act + Assess
    for (const input of inputs) {
      expectSameV2(input);
      expectSameV1(input);
    }
  });
});

describe("compiled pre-checks", () => {
  it("exist for the v1 message and every v2 event type, so valid events skip zod", () => {
    // Act
    const compiled = [v1MessageSchema, ...Object.values(V2_EVENT_SCHEMAS)].map((schema) =>
      compilePrecheck(schema),
    );

    // Assess
    expect(compiled.every((precheck) => precheck !== undefined)).toBe(true);
  });

  it.each([
    ["a refinement", z.strictObject({ id: z.string().refine((text) => text.length > 2) })],
    ["a transform", z.strictObject({ id: z.string().trim() })],
    ["coercion", z.strictObject({ n: z.coerce.number() })],
    ["an integer check", z.strictObject({ n: z.int() })],
    ["an exact optional field", z.strictObject({ n: z.number().exactOptional() })],
    ["a nullable field", z.strictObject({ n: z.number().nullable() })],
    ["a regex with flags", z.strictObject({ id: z.string().regex(/^a$/i) })],
    ["a nested object", z.strictObject({ inner: z.strictObject({ n: z.number() }) })],
    ["extra fields passed through", z.looseObject({ n: z.number() })],
  ])("are not compiled for a schema with %s, which JSON Schema would not state exactly", (_, schema) => {
    // Act
    const precheck = compilePrecheck(schema as never);

    // Assess
    expect(precheck).toBeUndefined();
  });

  it("compile a stripping object (v1's): extra keys pass and are left out of the value, as zod does", () => {
    // Prepare
    const schema = z.object({ n: z.number(), s: z.string().max(3) });
    const precheck = compilePrecheck<{ n: number; s: string }>(schema as never)!;
    const input = { route_name: "Route 7", n: 1, s: "abc", waypoint_count: 12 };

    // Act
    const passes = precheck.passes(input);

    // Assess
    expect(passes).toBe(true);
    expect(precheck.value(input)).toEqual(schema.parse(input));
    expect(precheck.value(input)).toEqual({ n: 1, s: "abc" });
    expect(precheck.passes({ ...input, s: "abcd" })).toBe(false);
  });

  it("accept exactly what zod accepts, and return zod's value, for every schema", () => {
    // Prepare
    const schemas: Record<string, StrictSchema> = { ...V2_EVENT_SCHEMAS, v1: v1MessageSchema };
    const prechecks = new Map(
      Object.entries(schemas).map(([name, schema]) => [name, compilePrecheck(schema)!]),
    );
    const inputs = fc.oneof(
      mutated(() => v2Events, ALL_FIELDS),
      mutated(() => v1Messages, ["extra"]),
      fc.tuple(fc.nat(), reasonLike).map(([index, reason]): EventRecord => {
        const failures = v2Events.filter((event) => event.reason !== undefined);
        return { ...failures[index % failures.length]!, reason };
      }),
    );

    // Act + Assess
    fc.assert(
      fc.property(inputs, (input) => {
        const name = "timestamp" in input ? "v1" : String(input.event_type);
        const schema = schemas[name] ?? V2_EVENT_SCHEMAS.location_ping;
        const precheck = prechecks.get(name) ?? prechecks.get("location_ping")!;
        const parsed = schema.safeParse(input);
        expect(precheck.passes(input)).toBe(parsed.success);
        if (parsed.success) expect(precheck.value(input)).toStrictEqual(parsed.data);
      }),
      { numRuns: 6000 },
    );
  });
});

describe("isUuid", () => {
  it("accepts exactly the strings UUID_PATTERN matches", () => {
    // Prepare
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    const oneUnitChanged = fc
      .tuple(fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] }), fc.nat({ max: 35 }), anyUnit)
      .map(([uuid, index, unit]) => `${uuid.slice(0, index)}${unit}${uuid.slice(index + 1)}`);
    const text = fc.oneof(uuidLike, oneUnitChanged, fc.string({ minLength: 36, maxLength: 36 }), fc.string());

    // Act + Assess
    fc.assert(
      fc.property(text, (value) => {
        expect(isUuid(value)).toBe(UUID_PATTERN.test(value));
      }),
      { numRuns: 20_000 },
    );
  });

  it("accepts every version and variant character the pattern allows, and no other", () => {
    // Act + Assess
    for (let code = 0; code <= 0xffff; code++) {
      const unit = String.fromCharCode(code);
      for (const index of [0, 14, 19, 35]) {
        const text = `${UUID.slice(0, index)}${unit}${UUID.slice(index + 1)}`;
        if (isUuid(text) !== UUID_PATTERN.test(text)) expect.fail(`differs on ${JSON.stringify(text)}`);
      }
    }
  });
});
