import type { Random } from "./random.ts";
import type { Protocol } from "./types.ts";

/**
 * Deliberate trouble on the wire, to test that the pipeline copes: units sent twice (a device resending
 * after a lost acknowledgement), units arriving late (out of order), and units that are not valid (not JSON
 * at all, or JSON that breaks the schema). A unit is one v1 frame or one v2 event.
 *
 * - `duplicates`: share of units sent a second time, byte for byte, a little later.
 * - `reorder`: share of units held back and sent after 1..`window` later units.
 * - `malformed`: share of everything sent that is invalid (inserted, never replacing a real unit).
 */

/**
 * `malformed`: JSON that breaks the event schema, sent like any event. `garbage`: a frame of its own that
 * is not JSON, or (v2) not a valid batch frame.
 */
export type UnitKind = "event" | "duplicate" | "malformed" | "garbage";

export interface WireUnit {
  /** The JSON text of the unit (for `garbage`, text that is not JSON). */
  text: string;
  kind: UnitKind;
  /** Event time of the event it comes from, ms: when it may be sent. */
  atMs: number;
  /** For duplicates and late units: how many units it was moved by. */
  displacedBy?: number;
}

export interface ChaosOptions {
  protocol: Protocol;
  duplicates: number;
  reorder: number;
  malformed: number;
  /** Furthest (in units) a late or duplicate unit lands from its place. */
  window?: number;
}

export function chaosEnabled(options: Pick<ChaosOptions, "duplicates" | "reorder" | "malformed">): boolean {
  return options.duplicates > 0 || options.reorder > 0 || options.malformed > 0;
}

/** Share of malformed units that are not JSON at all (the rest are JSON that breaks the schema). */
const GARBAGE_SHARE = 0.2;

type Corruption = (record: Record<string, unknown>, protocol: Protocol) => void;

/** Ways to break the schema, each one rule of the contract. */
const CORRUPTIONS: readonly Corruption[] = [
  // Latitude out of range.
  (record) => {
    const field = Object.keys(record).find((key) => key.endsWith("lat")) ?? "lat";
    record[field] = 123.456;
  },
  // A required field missing.
  (record) => {
    delete record.device_id;
  },
  // A timestamp that is not one.
  (record, protocol) => {
    record[protocol === "v1" ? "timestamp" : "occurred_at"] = "yesterday at noon";
  },
  // An id that is not a UUID.
  (record) => {
    record.session_id = "session-42";
  },
  // v2: a field the contract does not know. v1 accepts extra fields (the original devices send two), so
  // there: a drop-off at 0,0, which means no position.
  (record, protocol) => {
    if (protocol === "v2") record.speed_mph = 12;
    else Object.assign(record, { end_lat: 0, end_lon: 0 });
  },
  // A value of the wrong type.
  (record, protocol) => {
    if (protocol === "v1") record.current_lon = String(record.current_lon);
    else record.schema_version = "2";
  },
  // A value outside its enumeration.
  (record, protocol) => {
    if (protocol === "v1") record.status = "delivered";
    else record.event_type = "teleported";
  },
];

function corrupt(unit: WireUnit, protocol: Protocol, random: Random): WireUnit {
  if (random.chance(GARBAGE_SHARE)) {
    if (protocol === "v2" && random.chance(0.5)) {
      // Valid JSON, but not a valid batch frame (its batch id is empty).
      return {
        text: `{"type":"events","batch_id":"","events":[${unit.text}]}`,
        kind: "garbage",
        atMs: unit.atMs,
      };
    }
    // Cut mid-way: what a client that lost its connection half-way through a write might leave.
    const cut = Math.max(1, Math.floor(unit.text.length * random.between(0.2, 0.8)));
    return { text: unit.text.slice(0, cut), kind: "garbage", atMs: unit.atMs };
  }
  const record = JSON.parse(unit.text) as Record<string, unknown>;
  // A broken event must not share its id with the real one, or it could be mistaken for it downstream.
  if (protocol === "v2") record.event_id = random.uuid();
  CORRUPTIONS[random.integer(0, CORRUPTIONS.length - 1)]!(record, protocol);
  return { text: JSON.stringify(record), kind: "malformed", atMs: unit.atMs };
}

interface Held {
  unit: WireUnit;
  /** Released once this many units have been sent. */
  releaseAfter: number;
}

export function* withChaos(
  units: Iterable<WireUnit>,
  options: ChaosOptions,
  random: Random,
): Generator<WireUnit> {
  const window = options.window ?? 20;
  const held: Held[] = [];
  let sent = 0;

  function* emit(unit: WireUnit): Generator<WireUnit> {
    // Malformed units come in front of good ones: a geometric number of them, so that their share of
    // everything sent is `malformed` on average.
    while (options.malformed > 0 && random.chance(options.malformed)) {
      sent++;
      yield corrupt(unit, options.protocol, random);
    }
    sent++;
    yield unit;
  }

  function* release(): Generator<WireUnit> {
    for (let i = 0; i < held.length; ) {
      if (held[i]!.releaseAfter <= sent) {
        const [due] = held.splice(i, 1);
        yield* emit(due!.unit);
      } else {
        i++;
      }
    }
  }

  for (const unit of units) {
    if (options.reorder > 0 && random.chance(options.reorder)) {
      const by = random.integer(1, window);
      held.push({ unit: { ...unit, displacedBy: by }, releaseAfter: sent + by });
    } else {
      yield* emit(unit);
    }
    if (options.duplicates > 0 && random.chance(options.duplicates)) {
      const by = random.integer(0, window);
      held.push({ unit: { ...unit, kind: "duplicate", displacedBy: by }, releaseAfter: sent + by });
    }
    yield* release();
  }
  held.sort((a, b) => a.releaseAfter - b.releaseAfter);
  for (const { unit } of held) yield* emit(unit);
}
