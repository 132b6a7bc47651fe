import { formatTimestampMs } from "#shared/events/timestamp.ts";
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
  log_partition: number;
  log_offset: number;
}

/**
 * The columns Jupiter writes of a {@link SessionPositionRow}, in the order {@link positionsCsv} writes them.
 * `source` is not among them: ClickHouse fills it from `v1_status` (migration 004), which saves it parsing
 * a LowCardinality column for every row.
 */
export const POSITION_COLUMNS = [
  "event_id",
  "session_id",
  "device_id",
  "vehicle_id",
  "order_id",
  "occurred_at",
  "received_at",
  "lat",
  "lon",
  "speed_kmh",
  "heading_deg",
  "accuracy_m",
  "v1_status",
  "log_partition",
  "log_offset",
] as const satisfies readonly (keyof SessionPositionRow)[];

/** A CSV field as ClickHouse reads it: `\N` for NULL, strings quoted with inner quotes doubled. */
function csvField(value: string | number | null): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  return `"${value.includes('"') ? value.replaceAll('"', '""') : value}"`;
}

/** Position rows as CSV lines in {@link POSITION_COLUMNS} order. */
export function positionsCsv(rows: readonly SessionPositionRow[]): string {
  let out = "";
  for (const row of rows) {
    out += `${csvField(row.event_id)},${csvField(row.session_id)},${csvField(row.device_id)},${csvField(row.vehicle_id)},${csvField(row.order_id)},${csvField(row.occurred_at)},${csvField(row.received_at)},${csvField(row.lat)},${csvField(row.lon)},${csvField(row.speed_kmh)},${csvField(row.heading_deg)},${csvField(row.accuracy_m)},${csvField(row.v1_status)},${row.log_partition},${row.log_offset}\n`;
  }
  return out;
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

const iso: (ms: number) => Iso = formatTimestampMs;

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

/** Folds `b` into `a` (a batch's own accumulator, never shared) with the tables' aggregate functions. */
function mergeSessionRows(a: SessionRow, b: SessionRow): SessionRow {
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
  a.vehicle_type = maxOf(a.vehicle_type, b.vehicle_type);
  a.first_seen_at = minOf(a.first_seen_at, b.first_seen_at)!;
  a.last_seen_at = maxOf(a.last_seen_at, b.last_seen_at)!;
  a.last_position = maxPosition(a.last_position, b.last_position);
  a.last_session = maxSession(a.last_session, b.last_session);
  return a;
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
    log_partition: event.logPartition ?? 0,
    log_offset: event.logOffset ?? 0,
  };
}

function upsert<T>(rows: Map<string, T>, key: string, row: T, merge: (a: T, b: T) => T) {
  const existing = rows.get(key);
  rows.set(key, existing === undefined ? row : merge(existing, row));
}

/**
 * Folds one event into an existing session row in place: exactly `mergeSessionRows(row, sessionRow(event))`
 * without building the event's row (fields the event does not carry are nulls there, which min/max skip).
 * Silver folds every event of every batch, so the rows it would build and drop were most of its garbage.
 */
function foldSession(a: SessionRow, event: SilverEvent, at: Iso, receivedAt: Iso): void {
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
function foldOrder(a: OrderRow, event: SilverEvent, at: Iso): void {
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
function foldVehicle(a: VehicleRow, event: SilverEvent, at: Iso): void {
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

/** The CSV line of a position row ({@link positionsCsv}'s format), straight from the event. */
function positionLine(event: SilverEvent, at: Iso, receivedAt: Iso): string | undefined {
  if (event.kind !== "location_ping" && event.kind !== "v1_message") return undefined;
  // Ids are validated UUIDs, statuses are contract enums and times are ISO strings: none can hold
  // a quote, so they are quoted without escaping.
  const ids = `"${event.eventId}","${event.sessionId}","${event.deviceId}","${event.vehicleId}","${event.orderId}"`;
  const where = `"${at}","${receivedAt}",${event.position.lat},${event.position.lon}`;
  const log = `${event.logPartition ?? 0},${event.logOffset ?? 0}`;
  return event.kind === "location_ping"
    ? `${ids},${where},${event.speedKmh},${event.headingDeg},${event.accuracyM},\\N,${log}\n`
    : `${ids},${where},\\N,\\N,\\N,"${event.status}",${log}\n`;
}

/**
 * Position rows as CSV bytes, written as they come, each row replaced by a later delivery of its event. The
 * text of a row lives only until it is written: a batch's thousands of rows held as strings until a final
 * join outlived the young generation and most of the thread's garbage collection was spent copying and
 * marking them. A replaced row is skipped when the bytes are taken (rows have no order in a table).
 */
class PositionLines {
  private bytes = Buffer.allocUnsafeSlow(1 << 16);
  private length = 0;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly received: Iso[] = [];
  private readonly indexOf = new Map<string, number>();
  private replaced = 0;

  get count(): number {
    return this.starts.length - this.replaced;
  }

  add(eventId: string, line: string, receivedAt: Iso): void {
    const index = this.indexOf.get(eventId);
    if (index !== undefined) {
      // ReplacingMergeTree(received_at) keeps the later delivery (the last one of equal receive times).
      if (receivedAt < this.received[index]!) return;
      this.starts[index] = -1;
      this.replaced++;
    }
    this.indexOf.set(eventId, this.starts.length);
    this.received.push(receivedAt);
    this.starts.push(this.length);
    // At most 3 bytes per UTF-16 unit; the lines are ASCII, but room for any text costs nothing.
    if (this.length + line.length * 3 > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + line.length * 3));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.length += this.bytes.write(line, this.length);
    this.ends.push(this.length);
  }

  /** The live rows' bytes, in the order their events first came; a view of this builder's own buffer. */
  take(): Buffer {
    if (this.replaced === 0) return this.bytes.subarray(0, this.length);
    const out = Buffer.allocUnsafeSlow(this.length);
    let at = 0;
    for (let i = 0; i < this.starts.length; i++) {
      const start = this.starts[i]!;
      if (start >= 0) at += this.bytes.copy(out, at, start, this.ends[i]!);
    }
    return out.subarray(0, at);
  }
}

/**
 * A batch's silver rows built event by event: position rows as CSV bytes (one per event id, the later
 * delivery kept, as ReplacingMergeTree(received_at) does) and one merged row per session, order and vehicle.
 */
export class SilverRowsBuilder {
  private readonly lines = new PositionLines();
  readonly sessions = new Map<string, SessionRow>();
  readonly orders = new Map<string, OrderRow>();
  readonly vehicles = new Map<string, VehicleRow>();
  // Venus stamps every event of a frame with one receive time: format it once per run of equal times.
  private receivedMs = Number.NaN;
  private receivedIso = "";

  add(event: SilverEvent): void {
    const at = iso(event.occurredAt);
    if (event.receivedAt !== this.receivedMs) {
      this.receivedMs = event.receivedAt;
      this.receivedIso = iso(event.receivedAt);
    }
    const receivedAt = this.receivedIso;
    const line = positionLine(event, at, receivedAt);
    if (line !== undefined) this.lines.add(event.eventId, line, receivedAt);
    const session = this.sessions.get(event.sessionId);
    if (session === undefined) this.sessions.set(event.sessionId, sessionRow(event, at, receivedAt));
    else foldSession(session, event, at, receivedAt);
    const order = this.orders.get(event.orderId);
    if (order === undefined) this.orders.set(event.orderId, orderRow(event, at));
    else foldOrder(order, event, at);
    const vehicle = this.vehicles.get(event.vehicleId);
    if (vehicle === undefined) this.vehicles.set(event.vehicleId, vehicleRow(event, at));
    else foldVehicle(vehicle, event, at);
  }

  get positions(): number {
    return this.lines.count;
  }

  /** The position rows as UTF-8 CSV in {@link POSITION_COLUMNS} order, one line per row. */
  positionsCsv(): Buffer {
    return this.lines.take();
  }
}

/**
 * The entity rows of several parts of one batch (chunks transformed on different threads) merged into one
 * row per key, exactly as one part with all the events would have given them.
 */
export function mergeEntityRows(
  parts: readonly Pick<SilverRows, "sessions" | "orders" | "vehicles">[],
): Pick<SilverRows, "sessions" | "orders" | "vehicles"> {
  if (parts.length === 1) return parts[0]!;
  const sessions = new Map<string, SessionRow>();
  const orders = new Map<string, OrderRow>();
  const vehicles = new Map<string, VehicleRow>();
  for (const part of parts) {
    for (const row of part.sessions) upsert(sessions, row.session_id, row, mergeSessionRows);
    for (const row of part.orders) upsert(orders, row.order_id, row, mergeOrderRows);
    for (const row of part.vehicles) upsert(vehicles, row.vehicle_id, row, mergeVehicleRows);
  }
  return { sessions: [...sessions.values()], orders: [...orders.values()], vehicles: [...vehicles.values()] };
}

const keepLaterDelivery = (a: SessionPositionRow, b: SessionPositionRow) =>
  b.received_at >= a.received_at ? b : a;

/** Every silver row of a batch as objects (the reference the builder is tested against, and for tools). */
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
    if (position) upsert(positions, event.eventId, position, keepLaterDelivery);
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
