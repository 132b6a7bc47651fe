import { type LonLat, normaliseDeg } from "./geo.ts";
import type { GpsNoise } from "./noise.ts";
import type { Random } from "./random.ts";
import type { SessionPhase, SessionPlan } from "./session.ts";
import type {
  LocationPingEvent,
  SessionStartedEvent,
  SimulatedEvent,
  StatusChangedEvent,
  TruePosition,
} from "./types.ts";

/**
 * Turns a session plan into the v2 events its device sends, in time order: `session_started`, the status
 * changes, and a `location_ping` every update interval while the session lasts. Positions carry GPS noise;
 * the true position rides along in `truth`.
 */

/** Below this speed a phone reports no movement. */
const STANDSTILL_MPS = 0.3;

interface DeviceState {
  point: LonLat;
  bearing: number | undefined;
  speedMps: number;
  moving: boolean;
  indoors: boolean;
}

export interface EmitterOptions {
  updateIntervalMs: number;
}

export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** Heading rounded to 0.1 degree and kept below 360 (359.97 would round up to 360.0). */
export function roundHeading(deg: number): number {
  const rounded = round(normaliseDeg(deg), 1);
  return rounded >= 360 ? 0 : rounded;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The phase covering `ms`: the last one starting at or before it. */
function phaseAt(phases: readonly SessionPhase[], ms: number): SessionPhase {
  let found = phases[0]!;
  for (const phase of phases) {
    if (phase.startMs <= ms) found = phase;
    else break;
  }
  return found;
}

function deviceState(phases: readonly SessionPhase[], ms: number): DeviceState {
  const phase = phaseAt(phases, ms);
  if (phase.kind === "stand") {
    return { point: phase.point, bearing: undefined, speedMps: 0, moving: false, indoors: phase.indoors };
  }
  const motion = phase.trajectory.at(ms);
  const moving = motion.speedMps >= STANDSTILL_MPS;
  return { point: motion.point, bearing: motion.bearing, speedMps: motion.speedMps, moving, indoors: false };
}

export function* sessionEvents(
  plan: SessionPlan,
  options: EmitterOptions,
  ids: Random,
  noise: GpsNoise,
  jitter: Random,
): Generator<SimulatedEvent> {
  const vehicleType = plan.courier.vehicle.type;
  const maxKmh = plan.courier.vehicle.maxKmh;
  const { deviceId, vehicleId } = plan.courier;
  const sessionId = plan.sessionId;
  const orderId = plan.order.orderId;
  let heading = deviceState(plan.phases, plan.startMs).bearing ?? 0;

  const observe = (ms: number) => {
    const state = deviceState(plan.phases, ms);
    const fix = noise.fix(ms, state.point, { indoors: state.indoors });
    const truth: TruePosition = {
      lon: state.point[0],
      lat: state.point[1],
      speedKmh: state.speedMps * 3.6,
      moving: state.moving,
    };
    return { state, fix, truth };
  };

  // Field order as in docs/events.md: event_id, event_type, the rest of the envelope, then the payload.
  const started: SessionStartedEvent = {
    event_id: ids.uuid(),
    event_type: "session_started",
    schema_version: 2,
    occurred_at: iso(plan.startMs),
    device_id: deviceId,
    vehicle_id: vehicleId,
    session_id: sessionId,
    order_id: orderId,
    pickup_lat: round(plan.pickup[1], 6),
    pickup_lon: round(plan.pickup[0], 6),
    dropoff_lat: round(plan.dropoff[1], 6),
    dropoff_lon: round(plan.dropoff[0], 6),
    vehicle_type: vehicleType,
    promised_at: iso(plan.promisedMs),
  };
  yield { atMs: plan.startMs, event: started, vehicleType };

  const statuses = plan.statuses;
  let nextStatus = 0;
  let ping = 0;
  for (;;) {
    const pingMs = plan.startMs + Math.round(ping * options.updateIntervalMs);
    const status = statuses[nextStatus];
    if (status !== undefined && status.atMs <= pingMs) {
      const { fix, truth } = observe(status.atMs);
      const event: StatusChangedEvent = {
        event_id: ids.uuid(),
        event_type: "status_changed",
        schema_version: 2,
        occurred_at: iso(status.atMs),
        device_id: deviceId,
        vehicle_id: vehicleId,
        session_id: sessionId,
        order_id: orderId,
        status: status.status,
        ...(status.reason === undefined ? {} : { reason: status.reason }),
        lat: round(fix.point[1], 6),
        lon: round(fix.point[0], 6),
      };
      yield { atMs: status.atMs, event, truth, vehicleType };
      nextStatus++;
      continue;
    }
    // Pings stop before the terminal status: nothing follows it.
    if (pingMs >= plan.endMs) {
      if (status === undefined) return;
      continue;
    }
    const { state, fix, truth } = observe(pingMs);
    if (state.bearing !== undefined && state.moving) heading = state.bearing + jitter.normal(0, 2);
    const speedKmh = state.moving
      ? Math.min(maxKmh, Math.max(0, (state.speedMps + jitter.normal(0, 0.2)) * 3.6))
      : 0;
    const event: LocationPingEvent = {
      event_id: ids.uuid(),
      event_type: "location_ping",
      schema_version: 2,
      occurred_at: iso(pingMs),
      device_id: deviceId,
      vehicle_id: vehicleId,
      session_id: sessionId,
      order_id: orderId,
      lat: round(fix.point[1], 6),
      lon: round(fix.point[0], 6),
      speed_kmh: round(speedKmh, 1),
      heading_deg: roundHeading(heading),
      accuracy_m: round(fix.accuracyM, 1),
    };
    yield { atMs: pingMs, event, truth, vehicleType };
    ping++;
  }
}
