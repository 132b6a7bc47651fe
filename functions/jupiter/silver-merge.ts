import { formatTimestampMs } from "#shared/events/timestamp.ts";
import type { SilverEvent } from "./silver-event.ts";
import type {
  Iso,
  OrderRow,
  PositionTuple,
  SessionPositionRow,
  SessionRow,
  StatusTuple,
  VehicleRow,
} from "./silver-row-types.ts";

/**
 * The merge rules of the aggregating silver tables (`sessions`, `orders`, `vehicles`): the partial row an
 * event gives, and how two rows of one key merge, with the min/max functions ClickHouse merges them with.
 * Every merge is idempotent: an event seen twice changes nothing. The fold functions apply an event to a
 * row in place without building its partial row (the batch builder's hot path).
 */

/** Lifecycle order, the tie-break when two statuses share an event time. 0 means "no status". */
export const STATUS_RANK: Readonly<Record<string, number>> = {
  started: 1,
  picked_up: 2,
  en_route: 3,
  arrived: 4,
  completed: 5,
  failed: 5,
  cancelled: 5,
};

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const EPOCH: Iso = new Date(0).toISOString();
const NO_STATUS: StatusTuple = { at: EPOCH, rank: 0, status: "" };
const NO_POSITION: PositionTuple = { at: EPOCH, lat: 0, lon: 0 };

export const iso: (ms: number) => Iso = formatTimestampMs;

// ISO strings from toISOString have one fixed width, so they compare as times.
/** ClickHouse's min/max on a Nullable column: NULLs are skipped. */
function minOf<T extends string | number>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return b < a ? b : a;
}
function maxOf<T extends string | number>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return b > a ? b : a;
}
/** ClickHouse's max of a tuple: element by element. */
const maxStatus = (a: StatusTuple, b: StatusTuple) =>
  b.at !== a.at
    ? b.at > a.at
      ? b
      : a
    : b.rank !== a.rank
      ? b.rank > a.rank
        ? b
        : a
      : b.status > a.status
        ? b
        : a;
const maxPosition = (a: PositionTuple, b: PositionTuple) =>
  b.at !== a.at ? (b.at > a.at ? b : a) : b.lat !== a.lat ? (b.lat > a.lat ? b : a) : b.lon > a.lon ? b : a;
type SessionTuple = VehicleRow["last_session"];
const maxSession = (a: SessionTuple, b: SessionTuple) =>
  b.at !== a.at
    ? b.at > a.at
      ? b
      : a
    : b.session_id !== a.session_id
      ? b.session_id > a.session_id
        ? b
        : a
      : b.device_id > a.device_id
        ? b
        : a;

/** The status an event reports: v2 status_changed, v1 status, and session_started means "started". */
function statusOf(event: SilverEvent): string | undefined {
  if (event.kind === "status_changed" || event.kind === "v1_message") return event.status;
  if (event.kind === "session_started") return "started";
  return undefined;
}

/** Where the courier was: pings and v1 messages always, status changes when they carry a fix. */
function courierPosition(event: SilverEvent) {
  return event.kind === "session_started" ? undefined : event.position;
}

export function sessionRow(event: SilverEvent, at: Iso, receivedAt: Iso): SessionRow {
  const status = statusOf(event);
  const position = courierPosition(event);
  const trip = event.kind === "session_started" || event.kind === "v1_message" ? event : undefined;
  return {
    session_id: event.sessionId,
    device_id: event.deviceId,
    vehicle_id: event.vehicleId,
    order_id: event.orderId,
    vehicle_type: event.kind === "session_started" ? event.vehicleType : null,
    pickup_lat: trip?.pickup.lat ?? null,
    pickup_lon: trip?.pickup.lon ?? null,
    dropoff_lat: trip?.dropoff.lat ?? null,
    dropoff_lon: trip?.dropoff.lon ?? null,
    started_at: status === "started" ? at : null,
    promised_at: event.kind === "session_started" ? iso(event.promisedAt) : null,
    ended_at: status !== undefined && TERMINAL.has(status) ? at : null,
    first_event_at: at,
    last_event_at: at,
    last_received_at: receivedAt,
    latest_status: status ? { at, rank: STATUS_RANK[status] ?? 0, status } : NO_STATUS,
    last_position: position ? { at, lat: position.lat, lon: position.lon } : NO_POSITION,
  };
}

/** Folds `b` into `a` (a batch's own accumulator, never shared) with the tables' aggregate functions. */
export function mergeSessionRows(a: SessionRow, b: SessionRow): SessionRow {
  a.device_id = maxOf(a.device_id, b.device_id)!;
  a.vehicle_id = maxOf(a.vehicle_id, b.vehicle_id)!;
  a.order_id = maxOf(a.order_id, b.order_id)!;
  a.vehicle_type = maxOf(a.vehicle_type, b.vehicle_type);
  a.pickup_lat = maxOf(a.pickup_lat, b.pickup_lat);
  a.pickup_lon = maxOf(a.pickup_lon, b.pickup_lon);
  a.dropoff_lat = maxOf(a.dropoff_lat, b.dropoff_lat);
  a.dropoff_lon = maxOf(a.dropoff_lon, b.dropoff_lon);
  a.started_at = minOf(a.started_at, b.started_at);
  a.promised_at = maxOf(a.promised_at, b.promised_at);
  a.ended_at = minOf(a.ended_at, b.ended_at);
  a.first_event_at = minOf(a.first_event_at, b.first_event_at)!;
  a.last_event_at = maxOf(a.last_event_at, b.last_event_at)!;
  a.last_received_at = maxOf(a.last_received_at, b.last_received_at)!;
  a.latest_status = maxStatus(a.latest_status, b.latest_status);
  a.last_position = maxPosition(a.last_position, b.last_position);
  return a;
}

export function orderRow(event: SilverEvent, at: Iso): OrderRow {
  const status = statusOf(event);
  const when = (s: string) => (status === s ? at : null);
  const trip = event.kind === "session_started" || event.kind === "v1_message" ? event : undefined;
  return {
    order_id: event.orderId,
    session_id: event.sessionId,
    device_id: event.deviceId,
    vehicle_id: event.vehicleId,
    pickup_lat: trip?.pickup.lat ?? null,
    pickup_lon: trip?.pickup.lon ?? null,
    dropoff_lat: trip?.dropoff.lat ?? null,
    dropoff_lon: trip?.dropoff.lon ?? null,
    promised_at: event.kind === "session_started" ? iso(event.promisedAt) : null,
    created_at: when("started"),
    picked_up_at: when("picked_up"),
    delivered_at: when("completed"),
    failed_at: when("failed"),
    cancelled_at: when("cancelled"),
    end_reason: event.kind === "status_changed" ? (event.reason ?? null) : null,
    first_event_at: at,
    last_event_at: at,
    latest_status: status ? { at, rank: STATUS_RANK[status] ?? 0, status } : NO_STATUS,
  };
}

export function mergeOrderRows(a: OrderRow, b: OrderRow): OrderRow {
  a.session_id = maxOf(a.session_id, b.session_id)!;
  a.device_id = maxOf(a.device_id, b.device_id)!;
  a.vehicle_id = maxOf(a.vehicle_id, b.vehicle_id)!;
  a.pickup_lat = maxOf(a.pickup_lat, b.pickup_lat);
  a.pickup_lon = maxOf(a.pickup_lon, b.pickup_lon);
  a.dropoff_lat = maxOf(a.dropoff_lat, b.dropoff_lat);
  a.dropoff_lon = maxOf(a.dropoff_lon, b.dropoff_lon);
  a.promised_at = maxOf(a.promised_at, b.promised_at);
  a.created_at = minOf(a.created_at, b.created_at);
  a.picked_up_at = minOf(a.picked_up_at, b.picked_up_at);
  a.delivered_at = minOf(a.delivered_at, b.delivered_at);
  a.failed_at = minOf(a.failed_at, b.failed_at);
  a.cancelled_at = minOf(a.cancelled_at, b.cancelled_at);
  a.end_reason = maxOf(a.end_reason, b.end_reason);
  a.first_event_at = minOf(a.first_event_at, b.first_event_at)!;
  a.last_event_at = maxOf(a.last_event_at, b.last_event_at)!;
  a.latest_status = maxStatus(a.latest_status, b.latest_status);
  return a;
}

export function vehicleRow(event: SilverEvent, at: Iso): VehicleRow {
  const position = courierPosition(event);
  return {
    vehicle_id: event.vehicleId,
    vehicle_type: event.kind === "session_started" ? event.vehicleType : null,
    first_seen_at: at,
    last_seen_at: at,
    last_position: position ? { at, lat: position.lat, lon: position.lon } : NO_POSITION,
    last_session: { at, session_id: event.sessionId, device_id: event.deviceId },
  };
}

export function mergeVehicleRows(a: VehicleRow, b: VehicleRow): VehicleRow {
  a.vehicle_type = maxOf(a.vehicle_type, b.vehicle_type);
  a.first_seen_at = minOf(a.first_seen_at, b.first_seen_at)!;
  a.last_seen_at = maxOf(a.last_seen_at, b.last_seen_at)!;
  a.last_position = maxPosition(a.last_position, b.last_position);
  a.last_session = maxSession(a.last_session, b.last_session);
  return a;
}

export function positionRow(event: SilverEvent, at: Iso, receivedAt: Iso): SessionPositionRow | undefined {
  if (event.kind !== "location_ping" && event.kind !== "v1_message") return undefined;
  const ping = event.kind === "location_ping" ? event : undefined;
  return {
    event_id: event.eventId,
    session_id: event.sessionId,
    device_id: event.deviceId,
    vehicle_id: event.vehicleId,
    order_id: event.orderId,
    source: event.kind,
    occurred_at: at,
    received_at: receivedAt,
    lat: event.position.lat,
    lon: event.position.lon,
    speed_kmh: ping?.speedKmh ?? null,
    heading_deg: ping?.headingDeg ?? null,
    accuracy_m: ping?.accuracyM ?? null,
    v1_status: event.kind === "v1_message" ? event.status : null,
    log_partition: event.logPartition ?? 0,
    log_offset: event.logOffset ?? 0,
  };
}

export function upsert<T>(rows: Map<string, T>, key: string, row: T, merge: (a: T, b: T) => T) {
  const existing = rows.get(key);
  rows.set(key, existing === undefined ? row : merge(existing, row));
}

/**
 * Folds one event into an existing session row in place: exactly `mergeSessionRows(row, sessionRow(event))`
 * without building the event's row (fields the event does not carry are nulls there, which min/max skip).
 * Silver folds every event of every batch, so the rows it would build and drop were most of its garbage.
 */
export function foldSession(a: SessionRow, event: SilverEvent, at: Iso, receivedAt: Iso): void {
  const status = statusOf(event);
  a.device_id = maxOf(a.device_id, event.deviceId)!;
  a.vehicle_id = maxOf(a.vehicle_id, event.vehicleId)!;
  a.order_id = maxOf(a.order_id, event.orderId)!;
  if (event.kind === "session_started") {
    a.vehicle_type = maxOf(a.vehicle_type, event.vehicleType);
    a.promised_at = maxOf(a.promised_at, iso(event.promisedAt));
  }
  if (event.kind === "session_started" || event.kind === "v1_message") {
    a.pickup_lat = maxOf(a.pickup_lat, event.pickup.lat);
    a.pickup_lon = maxOf(a.pickup_lon, event.pickup.lon);
    a.dropoff_lat = maxOf(a.dropoff_lat, event.dropoff.lat);
    a.dropoff_lon = maxOf(a.dropoff_lon, event.dropoff.lon);
  }
  if (status === "started") a.started_at = minOf(a.started_at, at);
  if (status !== undefined && TERMINAL.has(status)) a.ended_at = minOf(a.ended_at, at);
  if (at < a.first_event_at) a.first_event_at = at;
  if (at > a.last_event_at) a.last_event_at = at;
  if (receivedAt > a.last_received_at) a.last_received_at = receivedAt;
  if (status) a.latest_status = maxStatus(a.latest_status, { at, rank: STATUS_RANK[status] ?? 0, status });
  const position = courierPosition(event);
  if (position) a.last_position = maxPosition(a.last_position, { at, lat: position.lat, lon: position.lon });
}

/** `mergeOrderRows(row, orderRow(event))` in place; see {@link foldSession}. */
export function foldOrder(a: OrderRow, event: SilverEvent, at: Iso): void {
  const status = statusOf(event);
  a.session_id = maxOf(a.session_id, event.sessionId)!;
  a.device_id = maxOf(a.device_id, event.deviceId)!;
  a.vehicle_id = maxOf(a.vehicle_id, event.vehicleId)!;
  if (event.kind === "session_started" || event.kind === "v1_message") {
    a.pickup_lat = maxOf(a.pickup_lat, event.pickup.lat);
    a.pickup_lon = maxOf(a.pickup_lon, event.pickup.lon);
    a.dropoff_lat = maxOf(a.dropoff_lat, event.dropoff.lat);
    a.dropoff_lon = maxOf(a.dropoff_lon, event.dropoff.lon);
  }
  if (event.kind === "session_started") a.promised_at = maxOf(a.promised_at, iso(event.promisedAt));
  if (status === "started") a.created_at = minOf(a.created_at, at);
  else if (status === "picked_up") a.picked_up_at = minOf(a.picked_up_at, at);
  else if (status === "completed") a.delivered_at = minOf(a.delivered_at, at);
  else if (status === "failed") a.failed_at = minOf(a.failed_at, at);
  else if (status === "cancelled") a.cancelled_at = minOf(a.cancelled_at, at);
  if (event.kind === "status_changed") a.end_reason = maxOf(a.end_reason, event.reason ?? null);
  if (at < a.first_event_at) a.first_event_at = at;
  if (at > a.last_event_at) a.last_event_at = at;
  if (status) a.latest_status = maxStatus(a.latest_status, { at, rank: STATUS_RANK[status] ?? 0, status });
}

/** `mergeVehicleRows(row, vehicleRow(event))` in place; see {@link foldSession}. */
export function foldVehicle(a: VehicleRow, event: SilverEvent, at: Iso): void {
  if (event.kind === "session_started") a.vehicle_type = maxOf(a.vehicle_type, event.vehicleType);
  if (at < a.first_seen_at) a.first_seen_at = at;
  if (at > a.last_seen_at) a.last_seen_at = at;
  const position = courierPosition(event);
  if (position) a.last_position = maxPosition(a.last_position, { at, lat: position.lat, lon: position.lon });
  const last = a.last_session;
  if (
    at > last.at ||
    (at === last.at &&
      (event.sessionId > last.session_id ||
        (event.sessionId === last.session_id && event.deviceId > last.device_id)))
  ) {
    a.last_session = { at, session_id: event.sessionId, device_id: event.deviceId };
  }
}
