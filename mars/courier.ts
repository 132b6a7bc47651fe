import type { LonLat } from "./geo.ts";
import { type EdgePosition, pointAlong, type RoadEdge, type RoadNetwork } from "./network.ts";
import type { Random } from "./random.ts";
import type { Route, TravelModel } from "./routing.ts";
import type { Traffic } from "./traffic.ts";
import {
  DEFAULT_VEHICLE_MIX,
  VEHICLE_PROFILES,
  VEHICLE_TYPES,
  type VehicleProfile,
  type VehicleType,
} from "./vehicles.ts";

/**
 * Couriers and how they drive. A courier owns a device and a vehicle; between sessions it waits where its
 * last delivery ended. Driving is integrated second by second along a route: accelerate towards the speed
 * the street allows (limit, vehicle, rider's pace, traffic), brake ahead of sharp turns, red lights and the
 * destination. Speeds never exceed the vehicle's maximum.
 */

export interface Courier {
  index: number;
  deviceId: string;
  vehicleId: string;
  vehicle: VehicleProfile;
  /** The rider's pace: share of the allowed speed they keep to (0.88..1.05). */
  pace: number;
  /** GPS quality of the device: accuracy in metres in the open sky. */
  baseAccuracyM: number;
  position: EdgePosition;
  /** When the courier finishes its current session (and is at `position`). */
  freeAtMs: number;
}

export function createFleet(
  count: number,
  network: RoadNetwork,
  random: Random,
  startMs: number,
  mix: Readonly<Record<VehicleType, number>> = DEFAULT_VEHICLE_MIX,
): Courier[] {
  const couriers: Courier[] = [];
  for (let index = 0; index < count; index++) {
    const draw = random.fork(`courier:${index}`);
    const type = draw.weighted(VEHICLE_TYPES, (t) => mix[t]);
    couriers.push({
      index,
      deviceId: draw.uuid(),
      vehicleId: draw.uuid(),
      vehicle: VEHICLE_PROFILES[type],
      pace: draw.between(0.88, 1.05),
      baseAccuracyM: draw.between(3, 6),
      position: network.randomPosition(draw),
      freeAtMs: startMs,
    });
  }
  return couriers;
}

/** The speed (m/s) a courier aims for on an edge at an instant: limit, vehicle, pace and traffic. */
export function targetSpeedMps(
  vehicle: VehicleProfile,
  pace: number,
  edge: Pick<RoadEdge, "roadClass" | "maxSpeedKmh">,
  trafficFactor: number,
): number {
  const freeFlowKmh =
    Math.min(vehicle.cruiseKmh, edge.maxSpeedKmh * vehicle.limitFraction) * pace * trafficFactor;
  return Math.min(vehicle.maxKmh, freeFlowKmh) / 3.6;
}

/** Average wait at a junction with traffic lights (red about 40% of the time, ~22 s on average). */
const EXPECTED_SIGNAL_WAIT_S = 9;

/** Travel times for routing: the courier's speeds under the traffic of `atMs`. */
export function travelModel(
  courier: Pick<Courier, "vehicle" | "pace">,
  traffic: Traffic,
  atMs: number,
): TravelModel {
  const { vehicle, pace } = courier;
  const allowed = new Set(vehicle.roads);
  return {
    canUse: (edge) => allowed.has(edge.roadClass),
    seconds: (edge, metres) =>
      metres /
      targetSpeedMps(vehicle, pace, edge, traffic.speedFactor(edge.roadClass, atMs, vehicle.twoWheeler)),
    junctionSeconds: (node) => (node.signalized ? EXPECTED_SIGNAL_WAIT_S : 0),
    maxSpeedMps: vehicle.maxKmh / 3.6,
  };
}

/** Where a moving courier is at an instant. */
export interface MotionState {
  point: LonLat;
  /** Direction of travel, degrees clockwise from north. */
  bearing: number;
  speedMps: number;
  /** Metres driven since the start of the route. */
  distance: number;
}

/** A point the courier must pass at no more than `speed` (m/s), stopping there for `waitS` seconds if set. */
interface SpeedConstraint {
  distance: number;
  speed: number;
  waitS: number;
}

const RED_LIGHT_PROBABILITY = 0.4;

/** One drive along a route, sampled every second from departure to arrival. */
export class Trajectory {
  readonly route: Route;
  readonly departMs: number;
  /** Distance driven at each whole second after departure. */
  readonly #distance: Float64Array;
  /** Speed at each whole second after departure, m/s. */
  readonly #speed: Float64Array;

  constructor(route: Route, departMs: number, distance: Float64Array, speed: Float64Array) {
    this.route = route;
    this.departMs = departMs;
    this.#distance = distance;
    this.#speed = speed;
  }

  get durationMs(): number {
    return (this.#distance.length - 1) * 1000;
  }

  get arriveMs(): number {
    return this.departMs + this.durationMs;
  }

  /** Position, direction and speed at `ms` (clamped to the drive). */
  at(ms: number): MotionState {
    const t = Math.min(Math.max((ms - this.departMs) / 1000, 0), this.#distance.length - 1);
    const i = Math.min(Math.floor(t), this.#distance.length - 2);
    const fraction = i < 0 ? 0 : t - i;
    const base = Math.max(i, 0);
    const next = Math.min(base + 1, this.#distance.length - 1);
    const distance = this.#distance[base]! + (this.#distance[next]! - this.#distance[base]!) * fraction;
    const speedMps = this.#speed[base]! + (this.#speed[next]! - this.#speed[base]!) * fraction;
    const { point, bearing } = pointAlong(this.route.points, this.route.cum, distance);
    return { point, bearing, speedMps, distance };
  }
}

/**
 * Drives `route` from `departMs`: a second-by-second integration of speed. Red lights, turns and the traffic
 * of the moment come from `traffic` and `random`, so the same seed drives the same way.
 */
export function drive(
  route: Route,
  departMs: number,
  courier: Pick<Courier, "vehicle" | "pace">,
  traffic: Traffic,
  random: Random,
): Trajectory {
  const { vehicle, pace } = courier;
  const constraints = speedConstraints(route, departMs, courier, traffic, random);
  const distances: number[] = [0];
  const speeds: number[] = [0];
  let s = 0;
  let v = 0;
  let waitS = 0;
  let next = 0;
  let segment = 0;
  // Traffic in front: a slowly wandering share of the allowed speed (0.8..1).
  let flow = 1;
  const length = route.length;
  for (let t = 1; s < length; t++) {
    if (waitS > 0) {
      waitS -= 1;
      distances.push(s);
      speeds.push(0);
      continue;
    }
    const nowMs = departMs + t * 1000;
    while (segment < route.segments.length - 1 && route.cum[segment + 1]! <= s) segment++;
    const street = route.segments[segment]!;
    flow = Math.min(1, Math.max(0.8, flow + random.normal(0, 0.02) + (0.95 - flow) * 0.05));
    const trafficFactor = traffic.speedFactor(street.roadClass, nowMs, vehicle.twoWheeler);
    let vMax = targetSpeedMps(vehicle, pace, street, trafficFactor) * flow;
    const horizon = (v * v) / (2 * vehicle.decelMps2) + v + 5;
    for (let k = next; k < constraints.length; k++) {
      const c = constraints[k]!;
      const gap = c.distance - s;
      if (gap > horizon) break;
      vMax = Math.min(vMax, Math.sqrt(c.speed * c.speed + 2 * vehicle.decelMps2 * Math.max(0, gap)));
    }
    const vNew = vMax > v ? Math.min(vMax, v + vehicle.accelMps2) : vMax;
    let ds = (v + vNew) / 2;
    let vEnd = vNew;
    // Passing constraints during this second: a stop ends the second at the stop line.
    while (next < constraints.length && s + ds >= constraints[next]!.distance) {
      const c = constraints[next]!;
      next++;
      if (c.waitS > 0 || c.distance >= length) {
        ds = c.distance - s;
        vEnd = 0;
        waitS = c.waitS;
        break;
      }
    }
    s = Math.min(length, s + ds);
    v = vEnd;
    distances.push(s);
    speeds.push(v);
  }
  return new Trajectory(route, departMs, Float64Array.from(distances), Float64Array.from(speeds));
}

function speedConstraints(
  route: Route,
  departMs: number,
  courier: Pick<Courier, "vehicle" | "pace">,
  traffic: Traffic,
  random: Random,
): SpeedConstraint[] {
  const { vehicle, pace } = courier;
  const constraints: SpeedConstraint[] = [];
  for (const junction of route.junctions) {
    if (junction.signalized && random.chance(RED_LIGHT_PROBABILITY)) {
      constraints.push({ distance: junction.distance, speed: 0, waitS: random.integer(5, 45) });
    } else if (junction.turnDeg > 60) {
      constraints.push({ distance: junction.distance, speed: vehicle.turnKmh / 3.6, waitS: 0 });
    } else if (junction.turnDeg > 30) {
      constraints.push({ distance: junction.distance, speed: (2 * vehicle.turnKmh) / 3.6, waitS: 0 });
    }
  }
  // Slow down before a street with a lower limit, not on it.
  for (let i = 1; i < route.segments.length; i++) {
    const before = route.segments[i - 1]!;
    const after = route.segments[i]!;
    if (after.maxSpeedKmh < before.maxSpeedKmh || after.roadClass !== before.roadClass) {
      const factor = traffic.speedFactor(after.roadClass, departMs, vehicle.twoWheeler);
      constraints.push({
        distance: route.cum[i]!,
        speed: targetSpeedMps(vehicle, pace, after, factor),
        waitS: 0,
      });
    }
  }
  constraints.push({ distance: route.length, speed: 0, waitS: 0 });
  return constraints.sort((a, b) => a.distance - b.distance);
}
