import type { SilverEvent } from "./silver-event.ts";
import type { Iso, SessionPositionRow } from "./silver-row-types.ts";

/** Position rows as ClickHouse CSV: the columns, the encoding of row objects, and the hot path's line writer. */

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

/** The CSV line of a position row ({@link positionsCsv}'s format), straight from the event. */
export function positionLine(event: SilverEvent, at: Iso, receivedAt: Iso): string | undefined {
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
export class PositionLines {
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
