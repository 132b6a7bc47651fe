import type { SilverEvent } from "./silver-event.ts";

/**
 * Rows for the silver tables, built from validated events. The aggregating tables (`sessions`, `orders`,
 * `vehicles`) take partial rows that ClickHouse merges with min/max; rows of one batch with the same key
 * are merged here first with the same functions, so a batch inserts one row per entity instead of one per
 * event. Every merge is idempotent: an event seen twice changes nothing.
 */

type Iso = string;
type StatusTuple = { at: Iso; rank: number; status: string };
type PositionTuple = { at: Iso; lat: number; lon: number };

export interface SessionPositionRow {
  event_id: string;
  session_id: string;
  device_id: string;
  vehicle_id: string;
  order_id: string;
  source: "location_ping" | "v1_message";
  occurred_at: Iso;
  received_at: Iso;
  lat: number;
  lon: number;
  speed_kmh: number | null;
  heading_deg: number | null;
  accuracy_m: number | null;
  v1_status: string | null;
}

export interface SessionRow {
  session_id: string;
  device_id: string;
  vehicle_id: string;
  order_id: string;
  vehicle_type: string | null;
  pickup_lat: number | null;
  pickup_lon: number | null;
  dropoff_lat: number | null;
  dropoff_lon: number | null;
  started_at: Iso | null;
  promised_at: Iso | null;
  ended_at: Iso | null;
  first_event_at: Iso;
  last_event_at: Iso;
  last_received_at: Iso;
  latest_status: StatusTuple;
  last_position: PositionTuple;
}

export interface OrderRow {
  order_id: string;
  session_id: string;
  device_id: string;
  vehicle_id: string;
  pickup_lat: number | null;
  pickup_lon: number | null;
  dropoff_lat: number | null;
  dropoff_lon: number | null;
  promised_at: Iso | null;
  created_at: Iso | null;
  picked_up_at: Iso | null;
  delivered_at: Iso | null;
  failed_at: Iso | null;
  cancelled_at: Iso | null;
  end_reason: string | null;
  first_event_at: Iso;
  last_event_at: Iso;
  latest_status: StatusTuple;
}

export interface VehicleRow {
  vehicle_id: string;
  vehicle_type: string | null;
  first_seen_at: Iso;
  last_seen_at: Iso;
  last_position: PositionTuple;
  last_session: { at: Iso; session_id: string; device_id: string };
}

export interface SilverRows {
  session_positions: SessionPositionRow[];
  sessions: SessionRow[];
  orders: OrderRow[];
  vehicles: VehicleRow[];
}

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

const iso = (ms: number): Iso => new Date(ms).toISOString();

// ISO strings from toISOString have one fixed width, so they compare as times.
type Comparable = string | number | null;
function compare(a: readonly Comparable[], b: readonly Comparable[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    return (x as string | number) < (y as string | number) ? -1 : 1;
  }
  return 0;
}
/** ClickHouse's min/max on a Nullable column: NULLs are skipped. */
function minOf<T extends Comparable>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return b < a ? b : a;
}
function maxOf<T extends Comparable>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return b > a ? b : a;
}
const maxStatus = (a: StatusTuple, b: StatusTuple) =>
  compare([b.at, b.rank, b.status], [a.at, a.rank, a.status]) > 0 ? b : a;
const maxPosition = (a: PositionTuple, b: PositionTuple) =>
  compare([b.at, b.lat, b.lon], [a.at, a.lat, a.lon]) > 0 ? b : a;

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

function sessionRow(event: SilverEvent, at: Iso, receivedAt: Iso): SessionRow {
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

function mergeSessionRows(a: SessionRow, b: SessionRow): SessionRow {
  return {
    session_id: a.session_id,
    device_id: maxOf(a.device_id, b.device_id)!,
    vehicle_id: maxOf(a.vehicle_id, b.vehicle_id)!,
    order_id: maxOf(a.order_id, b.order_id)!,
    vehicle_type: maxOf(a.vehicle_type, b.vehicle_type),
    pickup_lat: maxOf(a.pickup_lat, b.pickup_lat),
    pickup_lon: maxOf(a.pickup_lon, b.pickup_lon),
    dropoff_lat: maxOf(a.dropoff_lat, b.dropoff_lat),
    dropoff_lon: maxOf(a.dropoff_lon, b.dropoff_lon),
    started_at: minOf(a.started_at, b.started_at),
    promised_at: maxOf(a.promised_at, b.promised_at),
    ended_at: minOf(a.ended_at, b.ended_at),
    first_event_at: minOf(a.first_event_at, b.first_event_at)!,
    last_event_at: maxOf(a.last_event_at, b.last_event_at)!,
    last_received_at: maxOf(a.last_received_at, b.last_received_at)!,
    latest_status: maxStatus(a.latest_status, b.latest_status),
    last_position: maxPosition(a.last_position, b.last_position),
  };
}

function orderRow(event: SilverEvent, at: Iso): OrderRow {
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

function mergeOrderRows(a: OrderRow, b: OrderRow): OrderRow {
  return {
    order_id: a.order_id,
    session_id: maxOf(a.session_id, b.session_id)!,
    device_id: maxOf(a.device_id, b.device_id)!,
    vehicle_id: maxOf(a.vehicle_id, b.vehicle_id)!,
    pickup_lat: maxOf(a.pickup_lat, b.pickup_lat),
    pickup_lon: maxOf(a.pickup_lon, b.pickup_lon),
    dropoff_lat: maxOf(a.dropoff_lat, b.dropoff_lat),
    dropoff_lon: maxOf(a.dropoff_lon, b.dropoff_lon),
    promised_at: maxOf(a.promised_at, b.promised_at),
    created_at: minOf(a.created_at, b.created_at),
    picked_up_at: minOf(a.picked_up_at, b.picked_up_at),
    delivered_at: minOf(a.delivered_at, b.delivered_at),
    failed_at: minOf(a.failed_at, b.failed_at),
    cancelled_at: minOf(a.cancelled_at, b.cancelled_at),
    end_reason: maxOf(a.end_reason, b.end_reason),
    first_event_at: minOf(a.first_event_at, b.first_event_at)!,
    last_event_at: maxOf(a.last_event_at, b.last_event_at)!,
    latest_status: maxStatus(a.latest_status, b.latest_status),
  };
}

function vehicleRow(event: SilverEvent, at: Iso): VehicleRow {
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

function mergeVehicleRows(a: VehicleRow, b: VehicleRow): VehicleRow {
  const bLater =
    compare(
      [b.last_session.at, b.last_session.session_id, b.last_session.device_id],
      [a.last_session.at, a.last_session.session_id, a.last_session.device_id],
    ) > 0;
  return {
    vehicle_id: a.vehicle_id,
    vehicle_type: maxOf(a.vehicle_type, b.vehicle_type),
    first_seen_at: minOf(a.first_seen_at, b.first_seen_at)!,
    last_seen_at: maxOf(a.last_seen_at, b.last_seen_at)!,
    last_position: maxPosition(a.last_position, b.last_position),
    last_session: bLater ? b.last_session : a.last_session,
  };
}

function positionRow(event: SilverEvent, at: Iso, receivedAt: Iso): SessionPositionRow | undefined {
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
  };
}

function upsert<T>(rows: Map<string, T>, key: string, row: T, merge: (a: T, b: T) => T) {
  const existing = rows.get(key);
  rows.set(key, existing === undefined ? row : merge(existing, row));
}

export function silverRows(events: readonly SilverEvent[]): SilverRows {
  const positions = new Map<string, SessionPositionRow>();
  const sessions = new Map<string, SessionRow>();
  const orders = new Map<string, OrderRow>();
  const vehicles = new Map<string, VehicleRow>();
  for (const event of events) {
    // Each time is formatted once per event, not once per table.
    const at = iso(event.occurredAt);
    const receivedAt = iso(event.receivedAt);
    const position = positionRow(event, at, receivedAt);
    // The same event twice in one batch: keep the later delivery, as ReplacingMergeTree(received_at) does.
    if (position) {
      upsert(positions, event.eventId, position, (a, b) => (b.received_at >= a.received_at ? b : a));
    }
    upsert(sessions, event.sessionId, sessionRow(event, at, receivedAt), mergeSessionRows);
    upsert(orders, event.orderId, orderRow(event, at), mergeOrderRows);
    upsert(vehicles, event.vehicleId, vehicleRow(event, at), mergeVehicleRows);
  }
  return {
    session_positions: [...positions.values()],
    sessions: [...sessions.values()],
    orders: [...orders.values()],
    vehicles: [...vehicles.values()],
  };
}
