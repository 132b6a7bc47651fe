import { PositionLines, positionLine } from "./silver-csv.ts";
import type { SilverEvent } from "./silver-event.ts";
import {
  foldOrder,
  foldSession,
  foldVehicle,
  iso,
  mergeOrderRows,
  mergeSessionRows,
  mergeVehicleRows,
  orderRow,
  positionRow,
  sessionRow,
  upsert,
  vehicleRow,
} from "./silver-merge.ts";
import type { OrderRow, SessionPositionRow, SessionRow, SilverRows, VehicleRow } from "./silver-row-types.ts";

export { POSITION_COLUMNS, positionsCsv } from "./silver-csv.ts";
export { STATUS_RANK } from "./silver-merge.ts";
export type * from "./silver-row-types.ts";

/**
 * Rows for the silver tables, built from validated events. The aggregating tables (`sessions`, `orders`,
 * `vehicles`) take partial rows that ClickHouse merges with min/max; rows of one batch with the same key
 * are merged here first with the same functions (silver-merge.ts), so a batch inserts one row per entity
 * instead of one per event. Row types are in silver-row-types.ts, the CSV encoding in silver-csv.ts.
 */

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
