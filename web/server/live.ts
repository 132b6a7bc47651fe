/**
 * The live map's state: every active courier's last position, trail, status, pick-up and drop-off, kept in
 * memory and pushed to the browsers (server-sent events) as events arrive. Fed by the event log's tail in
 * `npm start` (an event reaches the map right after its acknowledgement), by new silver rows when Mercury
 * runs on its own, and seeded from silver at start.
 */

export interface LiveCourier {
  sessionId: string;
  vehicleId: string | null;
  vehicleType: string | null;
  status: string;
  lat: number;
  lon: number;
  /** Event time of the last position, ms since the epoch. */
  at: number;
  speedKmh: number | null;
  /** When the platform last received an event of it, ms since the epoch. */
  heardAt: number;
  pickup: [number, number] | null;
  dropoff: [number, number] | null;
  /** Recent positions, `[lon, lat]`, oldest first. */
  trail: [number, number][];
}

/**
 * A push, encoded once for every connection: `{"changed": [...], "removed": [...], "at": ms}`, where a changed
 * courier carries its new position but not its trail (each browser appends the position to the trail it has).
 */
export type LiveListener = (payload: string) => void;

export interface LiveUpdate {
  changed: Omit<LiveCourier, "trail">[];
  removed: string[];
  at: number;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const TRAIL_POINTS = 60;

type Json = Record<string, unknown>;

const num = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const point = (lat: unknown, lon: unknown): [number, number] | null => {
  const la = num(lat);
  const lo = num(lon);
  return la === null || lo === null || (la === 0 && lo === 0) ? null : [lo, la];
};

export class LiveHub {
  private readonly couriers = new Map<string, LiveCourier>();
  private readonly ended = new Map<string, number>();
  private readonly listeners = new Set<LiveListener>();
  private pendingChanged = new Set<string>();
  private pendingRemoved = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Events seen, for the pipeline page's rate. */
  eventsSeen = 0;

  constructor(
    /** Couriers not heard from for this long leave the map. */
    private readonly activeMs = 10 * 60_000,
    /** How often changes are pushed: bounded work per connection at any event rate. */
    private readonly pushEveryMs = 250,
  ) {}

  snapshot(): LiveCourier[] {
    this.expire();
    return [...this.couriers.values()];
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Puts a courier as silver knows it (seeding at start, or a courier found by polling silver). */
  put(courier: LiveCourier): void {
    if (TERMINAL.has(courier.status) || this.ended.has(courier.sessionId)) return;
    this.couriers.set(courier.sessionId, courier);
    this.changed(courier.sessionId);
  }

  /** One accepted event (v1 message or v2 event) as it is in the log. */
  ingest(raw: Json, now = Date.now()): void {
    this.eventsSeen++;
    const sessionId = str(raw.session_id);
    if (!sessionId) return;
    const isV1 = raw.schema_version === undefined && "current_lat" in raw;
    const at = Date.parse(String(isV1 ? raw.timestamp : raw.occurred_at));
    const eventType = isV1 ? "v1" : str(raw.event_type);
    const status = isV1 ? str(raw.status) : eventType === "status_changed" ? str(raw.status) : null;
    if (status && TERMINAL.has(status)) {
      this.ended.set(sessionId, now);
      if (this.couriers.delete(sessionId)) this.removed(sessionId);
      return;
    }
    if (this.ended.has(sessionId)) return;
    const position = isV1 ? point(raw.current_lat, raw.current_lon) : point(raw.lat, raw.lon);
    let courier = this.couriers.get(sessionId);
    if (!courier) {
      if (!position) {
        if (eventType !== "session_started") return;
      }
      courier = {
        sessionId,
        vehicleId: str(raw.vehicle_id),
        vehicleType: null,
        status: "started",
        lat: position?.[1] ?? 0,
        lon: position?.[0] ?? 0,
        at: Number.isFinite(at) ? at : now,
        speedKmh: null,
        heardAt: now,
        pickup: null,
        dropoff: null,
        trail: [],
      };
      this.couriers.set(sessionId, courier);
    }
    if (eventType === "session_started") {
      courier.vehicleType = str(raw.vehicle_type) ?? courier.vehicleType;
      courier.pickup = point(raw.pickup_lat, raw.pickup_lon) ?? courier.pickup;
      courier.dropoff = point(raw.dropoff_lat, raw.dropoff_lon) ?? courier.dropoff;
    }
    if (isV1) {
      courier.pickup ??= point(raw.start_lat, raw.start_lon);
      courier.dropoff ??= point(raw.end_lat, raw.end_lon);
    }
    if (status) courier.status = status;
    courier.heardAt = now;
    // Only a newer position moves the courier: late events do not jump it back.
    if (position && (!Number.isFinite(at) || at >= courier.at || courier.trail.length === 0)) {
      courier.lon = position[0];
      courier.lat = position[1];
      courier.at = Number.isFinite(at) ? at : now;
      courier.speedKmh = num(raw.speed_kmh) ?? courier.speedKmh;
      courier.trail.push(position);
      if (courier.trail.length > TRAIL_POINTS) courier.trail.splice(0, courier.trail.length - TRAIL_POINTS);
    }
    this.changed(sessionId);
  }

  private changed(sessionId: string): void {
    this.pendingRemoved.delete(sessionId);
    this.pendingChanged.add(sessionId);
    this.schedule();
  }

  private removed(sessionId: string): void {
    this.pendingChanged.delete(sessionId);
    this.pendingRemoved.add(sessionId);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.pushEveryMs);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    const changed = [...this.pendingChanged].flatMap((id) => {
      const courier = this.couriers.get(id);
      return courier ? [courier] : [];
    });
    const removed = [...this.pendingRemoved];
    this.pendingChanged = new Set();
    this.pendingRemoved = new Set();
    if (changed.length === 0 && removed.length === 0) return;
    const update: LiveUpdate = {
      changed: changed.map(({ trail: _trail, ...rest }) => rest),
      removed,
      at: Date.now(),
    };
    const payload = JSON.stringify(update);
    for (const listener of this.listeners) listener(payload);
  }

  /** Drops couriers not heard from within the active window (by arrival, so a replayed history shows too). */
  private expire(now = Date.now()): void {
    for (const [id, endedAt] of this.ended) if (endedAt < now - this.activeMs) this.ended.delete(id);
    for (const [id, courier] of this.couriers) {
      if (courier.heardAt < now - this.activeMs) {
        this.couriers.delete(id);
        this.removed(id);
      }
    }
  }
}
