import { athens } from "./cities/athens.ts";
import type { City } from "./city.ts";
import { type Courier, createFleet } from "./courier.ts";
import { sessionEvents } from "./emitter.ts";
import { distanceM, type LonLat } from "./geo.ts";
import { RoadNetwork } from "./network.ts";
import { GpsNoise } from "./noise.ts";
import { createMerchants, createOrder, type Order, orderTimes } from "./orders.ts";
import { Random } from "./random.ts";
import { planSession } from "./session.ts";
import { Traffic } from "./traffic.ts";
import type { SimulatedEvent } from "./types.ts";
import { DEFAULT_VEHICLE_MIX, VEHICLE_TYPES, type VehicleType } from "./vehicles.ts";

/**
 * The simulation: a pure, deterministic function of its options. Orders arrive over the window, each is
 * dispatched to the courier who can reach the merchant first, and the sessions' events come out merged into
 * one stream in event-time order (so each device's events are in order too). Nothing here reads a clock,
 * the network or the file system: the same options give the same events, byte for byte.
 */

export interface SimulationOptions {
  seed: string | number;
  /** Orders to simulate; one session each. */
  sessions: number;
  /** When the order window opens, ms since the Unix epoch. */
  startMs: number;
  city?: City;
  /** Couriers in the fleet; by default about one per 15 orders. */
  couriers?: number;
  /** Length of the order window in hours (sessions finish after it). */
  hours?: number;
  /** Seconds between location pings. */
  updateIntervalS?: number;
  /** Share of orders cancelled before pickup. */
  cancelRate?: number;
  /** Share of orders that fail at the door. */
  failRate?: number;
  /** Add GPS error to reported positions (the truth is always in `truth`). */
  gpsNoise?: boolean;
  /** Share of each vehicle type in the fleet. */
  vehicleMix?: Partial<Record<VehicleType, number>>;
  /** Merchants in the city. */
  merchants?: number;
}

export const SIMULATION_DEFAULTS = {
  hours: 24,
  updateIntervalS: 5,
  cancelRate: 0.03,
  failRate: 0.02,
  merchants: 150,
} as const;

export function defaultCouriers(sessions: number): number {
  return Math.max(1, Math.min(1000, Math.ceil(sessions / 15)));
}

/**
 * The root random stream of a run. A run is identified by its seed and its start: two runs with the same
 * seed on different days must not produce the same event ids, or downstream deduplication would drop the
 * second one as a copy of the first.
 */
export function runRandom(seed: string | number, startMs: number): Random {
  return Random.fromSeed(`${String(seed)}@${new Date(startMs).toISOString()}`);
}

const networks = new WeakMap<City, RoadNetwork>();

/** The road network of a city, built once per city object. */
export function networkOf(city: City): RoadNetwork {
  let network = networks.get(city);
  if (!network) {
    network = RoadNetwork.fromCity(city);
    networks.set(city, network);
  }
  return network;
}

/** Picks the courier that can be at the merchant first; a bicycle only gets a short delivery. */
function dispatch(couriers: readonly Courier[], order: Order, network: RoadNetwork): Courier {
  const pickup = order.merchant.point;
  const delivery = distanceM(pickup, order.dropoffPoint);
  let best: Courier | undefined;
  let bestEta = Number.POSITIVE_INFINITY;
  for (const pass of [true, false]) {
    for (const courier of couriers) {
      if (pass && courier.vehicle.maxDeliveryM < delivery) continue;
      const from: LonLat = network.pointAt(courier.position);
      // A straight-line estimate is enough to rank couriers; the chosen one then routes for real.
      const typicalMps = Math.min(courier.vehicle.cruiseKmh, 35) / 3.6;
      const eta =
        Math.max(order.createdMs, courier.freeAtMs) + ((distanceM(from, pickup) * 1.3) / typicalMps) * 1000;
      if (eta < bestEta) {
        best = courier;
        bestEta = eta;
      }
    }
    if (best) return best;
  }
  return couriers[0]!;
}

/** A session's pending events, ordered in the merge by time and then by creation. */
interface Cursor {
  next: SimulatedEvent;
  rest: Iterator<SimulatedEvent>;
  seq: number;
}

function before(a: Cursor, b: Cursor): boolean {
  return a.next.atMs < b.next.atMs || (a.next.atMs === b.next.atMs && a.seq < b.seq);
}

/** Every event of the simulation, in event-time order. */
export function* simulate(options: SimulationOptions): Generator<SimulatedEvent> {
  const city = options.city ?? athens;
  const network = networkOf(city);
  const traffic = new Traffic(city.timeZone);
  const root = runRandom(options.seed, options.startMs);
  const hours = options.hours ?? SIMULATION_DEFAULTS.hours;
  const updateIntervalMs = (options.updateIntervalS ?? SIMULATION_DEFAULTS.updateIntervalS) * 1000;
  const settings = {
    cancelRate: options.cancelRate ?? SIMULATION_DEFAULTS.cancelRate,
    failRate: options.failRate ?? SIMULATION_DEFAULTS.failRate,
  };
  const mix = { ...DEFAULT_VEHICLE_MIX, ...options.vehicleMix };
  if (!VEHICLE_TYPES.some((type) => mix[type] > 0))
    throw new Error("vehicleMix gives every vehicle type a zero share");
  const couriers = createFleet(
    options.couriers ?? defaultCouriers(options.sessions),
    network,
    root.fork("fleet"),
    options.startMs,
    mix,
  );
  const merchants = createMerchants(
    network,
    root.fork("merchants"),
    options.merchants ?? SIMULATION_DEFAULTS.merchants,
  );
  const times = orderTimes(
    city,
    traffic.clock,
    root.fork("demand"),
    options.sessions,
    options.startMs,
    hours * 3_600_000,
  );
  const denseCentres = network.nodes.filter((node) => node.demand >= 1).map((node) => node.at);

  const heap: Cursor[] = [];
  let seq = 0;
  let nextOrder = 0;
  while (nextOrder < times.length || heap.length > 0) {
    const orderMs = nextOrder < times.length ? times[nextOrder]! : Number.POSITIVE_INFINITY;
    // Dispatch every order placed before the next pending event: its session cannot start earlier.
    if (heap.length === 0 || orderMs <= heap[0]!.next.atMs) {
      const stream = root.fork(`order:${nextOrder}`);
      const order = createOrder(nextOrder, orderMs, network, merchants, stream.fork("order"), settings);
      const courier = dispatch(couriers, order, network);
      const plan = planSession(
        order,
        courier,
        stream.fork("ids").uuid(),
        { network, traffic },
        stream.fork("plan"),
      );
      courier.position = plan.endPosition;
      courier.freeAtMs = plan.endMs;
      const noise = new GpsNoise(
        stream.fork("gps"),
        courier.baseAccuracyM,
        denseCentres,
        options.gpsNoise ?? true,
      );
      const events = sessionEvents(
        plan,
        { updateIntervalMs },
        stream.fork("event-ids"),
        noise,
        stream.fork("sensors"),
      );
      const first = events.next();
      if (!first.done) heapPush(heap, { next: first.value, rest: events, seq: seq++ });
      nextOrder++;
      continue;
    }
    const cursor = heap[0]!;
    yield cursor.next;
    const following = cursor.rest.next();
    if (following.done) {
      heapPopTop(heap);
    } else {
      cursor.next = following.value;
      cursor.seq = seq++;
      heapSiftDown(heap, 0);
    }
  }
}

function heapPush(heap: Cursor[], cursor: Cursor): void {
  heap.push(cursor);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function heapPopTop(heap: Cursor[]): void {
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    heapSiftDown(heap, 0);
  }
}

function heapSiftDown(heap: Cursor[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === i) return;
    [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
    i = smallest;
  }
}
