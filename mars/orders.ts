import type { City } from "./city.ts";
import type { LonLat } from "./geo.ts";
import type { EdgePosition, RoadNetwork } from "./network.ts";
import type { Random } from "./random.ts";
import type { LocalClock } from "./traffic.ts";

/**
 * Merchants and the orders placed with them. Orders arrive over the simulated window following the city's
 * demand curve (lunch and dinner peaks); each has a merchant (pickup), a customer's door (drop-off) within
 * the delivery radius, a preparation time, and an outcome decided up front: delivered, failed at the door,
 * or cancelled before pickup, with a reason.
 */

export type MerchantKind = "restaurant" | "grocery";

export interface Merchant {
  index: number;
  kind: MerchantKind;
  position: EdgePosition;
  point: LonLat;
  /** How much of the demand this merchant draws (a few popular places take most orders). */
  popularity: number;
}

export type OrderOutcome =
  | { kind: "completed" }
  | { kind: "failed"; reason: string }
  | {
      kind: "cancelled";
      reason: string /** 0..1: how far between session start and pickup it happens. */;
      at: number;
    };

export interface Order {
  index: number;
  orderId: string;
  createdMs: number;
  merchant: Merchant;
  dropoff: EdgePosition;
  dropoffPoint: LonLat;
  prepMs: number;
  outcome: OrderOutcome;
}

export interface OrderSettings {
  cancelRate: number;
  failRate: number;
}

/** Why customers and merchants cancel an order before pickup, with relative frequency. */
export const CANCEL_REASONS: readonly { reason: string; weight: number }[] = [
  { reason: "customer cancelled the order", weight: 5 },
  { reason: "merchant could not prepare the order (item out of stock)", weight: 2 },
  { reason: "merchant closed before the order was ready", weight: 1 },
  { reason: "payment was declined", weight: 1 },
  { reason: "courier vehicle breakdown", weight: 0.5 },
];

/** Why a delivery fails at the door, with relative frequency. */
export const FAILURE_REASONS: readonly { reason: string; weight: number }[] = [
  { reason: "customer not available", weight: 5 },
  { reason: "wrong or incomplete address", weight: 2 },
  { reason: "customer refused the order", weight: 1 },
  { reason: "no access to the building", weight: 1 },
  { reason: "order damaged in transit", weight: 0.5 },
];

export function createMerchants(network: RoadNetwork, random: Random, count: number): Merchant[] {
  const merchants: Merchant[] = [];
  for (let index = 0; index < count; index++) {
    const position = network.randomPosition(random);
    merchants.push({
      index,
      kind: random.chance(0.8) ? "restaurant" : "grocery",
      position,
      point: network.pointAt(position),
      // Zipf-like: rank 1 is about ten times as busy as rank 20.
      popularity: 1 / (index + 1) ** 0.75,
    });
  }
  return merchants;
}

/** Relative demand at a local minute of the day, interpolated between the hourly values. */
export function demandAt(city: City, minuteOfDay: number): number {
  const curve = city.demandByHour;
  const hourPosition = minuteOfDay / 60 - 0.5;
  const lower = Math.floor(hourPosition);
  const fraction = hourPosition - lower;
  const a = curve[((lower % 24) + 24) % 24]!;
  const b = curve[(((lower + 1) % 24) + 24) % 24]!;
  return a + (b - a) * fraction;
}

/**
 * `count` order times in [startMs, startMs + windowMs), sorted, distributed like the demand curve: the
 * order statistics of independent draws from the demand density, drawn by inverse transform per minute.
 */
export function orderTimes(
  city: City,
  clock: LocalClock,
  random: Random,
  count: number,
  startMs: number,
  windowMs: number,
): Float64Array {
  const minutes = Math.max(1, Math.ceil(windowMs / 60_000));
  const cumulative = new Float64Array(minutes);
  let total = 0;
  for (let m = 0; m < minutes; m++) {
    const at = startMs + m * 60_000;
    const weekend = clock.isWeekend(at) ? 1.15 : 1;
    total += demandAt(city, clock.minuteOfDay(at + 30_000)) * weekend;
    cumulative[m] = total;
  }
  const draws = new Float64Array(count);
  for (let i = 0; i < count; i++) draws[i] = random.next() * total;
  draws.sort();
  const times = new Float64Array(count);
  let minute = 0;
  for (let i = 0; i < count; i++) {
    const target = draws[i]!;
    while (minute < minutes - 1 && cumulative[minute]! <= target) minute++;
    const before = minute === 0 ? 0 : cumulative[minute - 1]!;
    const within = (target - before) / (cumulative[minute]! - before || 1);
    times[i] = Math.min(startMs + windowMs - 1, Math.floor(startMs + (minute + within) * 60_000));
  }
  return times;
}

/** The order placed at `createdMs`; all of its randomness comes from its own stream. */
export function createOrder(
  index: number,
  createdMs: number,
  network: RoadNetwork,
  merchants: readonly Merchant[],
  random: Random,
  settings: OrderSettings,
): Order {
  const merchant = random.weighted(merchants, (m) => m.popularity);
  const dropoff = network.randomPositionNear(random, merchant.point, 300, network.city.deliveryRadiusM);
  const prepMinutes =
    merchant.kind === "restaurant" ? random.logNormal(12, 0.4, 4, 40) : random.logNormal(7, 0.35, 3, 20);
  const orderId = random.uuid();
  let outcome: OrderOutcome = { kind: "completed" };
  const roll = random.next();
  if (roll < settings.cancelRate) {
    outcome = {
      kind: "cancelled",
      reason: random.weighted(CANCEL_REASONS, (r) => r.weight).reason,
      at: random.next(),
    };
  } else if (roll < settings.cancelRate + settings.failRate) {
    outcome = { kind: "failed", reason: random.weighted(FAILURE_REASONS, (r) => r.weight).reason };
  }
  return {
    index,
    orderId,
    createdMs,
    merchant,
    dropoff,
    dropoffPoint: network.pointAt(dropoff),
    prepMs: Math.round(prepMinutes * 60_000),
    outcome,
  };
}
