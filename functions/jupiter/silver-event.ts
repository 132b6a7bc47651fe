import {
  occurredAtMs,
  parseTimestampMs,
  SESSIONS_HEADERS,
  type V1Message,
  type V2Event,
  type ValidationIssue,
  v1EventId,
  validateV1,
  validateV2,
} from "#shared/events/index.ts";
import { showValue } from "#shared/events/issues.ts";
import { isUuid } from "#shared/events/uuid.ts";
import { receiveTimeIssue, type SessionsRecord, schemaVersionOf } from "#shared/lambda/sessions-record.ts";

/**
 * A `sessions` record as silver sees it: validated with the contract's validators, ids lowercased (UUIDs
 * are case-insensitive), times in ms. v1 messages keep their status and positions.
 */
interface SilverEventBase {
  eventId: string;
  sessionId: string;
  deviceId: string;
  vehicleId: string;
  orderId: string;
  occurredAt: number;
  receivedAt: number;
  /**
   * Where the record sat in the log (set by the batch transform; 0 when unknown): the tie-breaker after
   * event time, so positions with equal timestamps keep arrival order (migration 005).
   */
  logPartition?: number;
  logOffset?: number;
}

export type SilverEvent = SilverEventBase &
  (
    | {
        kind: "session_started";
        pickup: Point;
        dropoff: Point;
        vehicleType: string;
        promisedAt: number;
      }
    | {
        kind: "location_ping";
        position: Point;
        speedKmh: number;
        headingDeg: number;
        accuracyM: number;
      }
    | { kind: "status_changed"; status: string; reason: string | undefined; position: Point | undefined }
    | { kind: "v1_message"; status: string; pickup: Point; dropoff: Point; position: Point }
  );

export interface Point {
  lat: number;
  lon: number;
}

export type SilverEventVerdict =
  | { ok: true; event: SilverEvent }
  | { ok: false; schemaVersion: 1 | 2; issues: ValidationIssue[] };

const header = (record: SessionsRecord, name: string) => record.headers[name]?.toString("utf8");

/**
 * Validates one record. The time rules are checked against the record's timestamp (when Venus received it),
 * not the consumer's clock, so a replay or a retry a day later reaches the same verdict.
 */
export function toSilverEvent(record: SessionsRecord): SilverEventVerdict {
  return silverEventOf({
    text: record.value.toString("utf8"),
    byteLength: record.value.length,
    timestamp: record.timestamp,
    schemaVersion: header(record, SESSIONS_HEADERS.schemaVersion),
    eventId: header(record, SESSIONS_HEADERS.eventId),
  });
}

/** What {@link toSilverEvent} reads of a record: its value as text, timestamp and `sessions` headers. */
export interface SilverRecordText {
  text: string;
  byteLength: number;
  timestamp: number;
  schemaVersion: string | undefined;
  eventId: string | undefined;
}

/** {@link toSilverEvent} for a record already read out (a worker reads them straight from packed bytes). */
export function silverEventOf(record: SilverRecordText): SilverEventVerdict {
  const declared = record.schemaVersion;
  const timeIssue = receiveTimeIssue(record.timestamp);
  if (timeIssue) return { ok: false, schemaVersion: schemaVersionOf(declared), issues: [timeIssue] };
  let json: unknown;
  try {
    json = JSON.parse(record.text);
  } catch (error) {
    return {
      ok: false,
      schemaVersion: schemaVersionOf(declared),
      issues: [
        {
          field: "",
          rule: "invalid",
          message: `the record's value is not JSON (${error instanceof Error ? error.message : String(error)})`,
        },
      ],
    };
  }
  const schemaVersion = schemaVersionOf(declared, json);
  const options = { nowMs: record.timestamp, byteLength: record.byteLength };
  if (schemaVersion === 1) {
    const verdict = validateV1(json, options);
    if (!verdict.ok) return { ok: false, schemaVersion: 1, issues: verdict.issues };
    // Venus writes the id it derived; a header that is not a UUID did not come from Venus, and would
    // reach the UUID columns of a batch's insert (and fail it whole) if taken as it is.
    if (record.eventId !== undefined && !isUuid(record.eventId)) {
      return {
        ok: false,
        schemaVersion: 1,
        issues: [
          {
            field: "event_id",
            rule: "uuid",
            message: `the record's event_id header must be a UUID (got ${showValue(record.eventId)})`,
          },
        ],
      };
    }
    const eventId = record.eventId ?? v1EventId(verdict.value);
    return { ok: true, event: fromV1(verdict.value, eventId, record.timestamp) };
  }
  const verdict = validateV2(json, options);
  if (!verdict.ok) return { ok: false, schemaVersion: 2, issues: verdict.issues };
  return { ok: true, event: fromV2(verdict.value, record.timestamp) };
}

function fromV1(message: V1Message, eventId: string, receivedAt: number): SilverEvent {
  return {
    kind: "v1_message",
    eventId: lower(eventId),
    sessionId: lower(message.session_id),
    deviceId: lower(message.device_id),
    vehicleId: lower(message.vehicle_id),
    orderId: lower(message.order_id),
    occurredAt: occurredAtMs(message),
    receivedAt,
    status: message.status,
    pickup: { lat: message.start_lat, lon: message.start_lon },
    dropoff: { lat: message.end_lat, lon: message.end_lon },
    position: { lat: message.current_lat, lon: message.current_lon },
  };
}

/** UUIDs are case-insensitive (toLowerCase returns a lowercase string as it is, without a copy). */
const lower = (id: string) => id.toLowerCase();

// The events are built as object literals of one shape per kind (no spreads): silver decodes every record of
// every batch here, and spread copies were a large share of a batch's cost (docs/benchmarks.md).
function fromV2(event: V2Event, receivedAt: number): SilverEvent {
  const eventId = lower(event.event_id);
  const sessionId = lower(event.session_id);
  const deviceId = lower(event.device_id);
  const vehicleId = lower(event.vehicle_id);
  const orderId = lower(event.order_id);
  const occurredAt = occurredAtMs(event);
  switch (event.event_type) {
    case "session_started":
      return {
        kind: "session_started",
        eventId,
        sessionId,
        deviceId,
        vehicleId,
        orderId,
        occurredAt,
        receivedAt,
        pickup: { lat: event.pickup_lat, lon: event.pickup_lon },
        dropoff: { lat: event.dropoff_lat, lon: event.dropoff_lon },
        vehicleType: event.vehicle_type,
        promisedAt: parseTimestampMs(event.promised_at),
      };
    case "location_ping":
      return {
        kind: "location_ping",
        eventId,
        sessionId,
        deviceId,
        vehicleId,
        orderId,
        occurredAt,
        receivedAt,
        position: { lat: event.lat, lon: event.lon },
        speedKmh: event.speed_kmh,
        headingDeg: event.heading_deg,
        accuracyM: event.accuracy_m,
      };
    case "status_changed":
      return {
        kind: "status_changed",
        eventId,
        sessionId,
        deviceId,
        vehicleId,
        orderId,
        occurredAt,
        receivedAt,
        status: event.status,
        reason: event.reason,
        position:
          event.lat === undefined || event.lon === undefined ? undefined : { lat: event.lat, lon: event.lon },
      };
  }
}
