import { type Courier, drive, type Trajectory, travelModel } from "./courier.ts";
import type { LonLat } from "./geo.ts";
import type { EdgePosition, RoadNetwork } from "./network.ts";
import type { Order } from "./orders.ts";
import type { Random } from "./random.ts";
import { findRoute, type Route, routePosition } from "./routing.ts";
import type { Traffic } from "./traffic.ts";
import type { SessionStatus } from "./types.ts";

/**
 * One delivery session, planned in full when its order is dispatched: the courier accepts, rides to the
 * merchant (timed to arrive about when the food is ready), waits and takes the order, rides to the customer,
 * hands it over (or fails to), or is cancelled on the way to the merchant. The plan is a timeline of phases
 * (driving or standing) and status changes; the emitter samples it into events.
 */

export type SessionPhase =
  | { kind: "drive"; startMs: number; endMs: number; trajectory: Trajectory }
  | { kind: "stand"; startMs: number; endMs: number; point: LonLat; indoors: boolean };

export interface PlannedStatus {
  status: SessionStatus;
  atMs: number;
  reason?: string;
}

export interface SessionPlan {
  sessionId: string;
  order: Order;
  courier: Pick<Courier, "deviceId" | "vehicleId" | "vehicle" | "baseAccuracyM">;
  startMs: number;
  endMs: number;
  promisedMs: number;
  pickup: LonLat;
  dropoff: LonLat;
  /** Contiguous phases from `startMs` to `endMs`. */
  phases: SessionPhase[];
  /** In time order; the last one is terminal (completed, failed or cancelled). */
  statuses: PlannedStatus[];
  /** Where the courier is when the session ends. */
  endPosition: EdgePosition;
}

export interface PlanContext {
  network: RoadNetwork;
  traffic: Traffic;
}

/** Couriers are dispatched to arrive at the merchant this long before the order is ready. */
const ARRIVE_BEFORE_READY_MS = 2 * 60_000;
/** Margin added to the estimated delivery time when promising it to the customer. */
const PROMISE_BUFFER_MS = 5 * 60_000;

function route(
  ctx: PlanContext,
  courier: Courier,
  from: EdgePosition,
  to: EdgePosition,
  atMs: number,
): Route {
  const found = findRoute(ctx.network, from, to, travelModel(courier, ctx.traffic, atMs));
  if (!found) {
    throw new Error(
      `No ${courier.vehicle.type} route in ${ctx.network.city.name} from edge ${from.edge} to edge ${to.edge}: the city's road network is not connected`,
    );
  }
  return found;
}

/** Plans the session of `order` for `courier` (which must be free at `courier.freeAtMs`). */
export function planSession(
  order: Order,
  courier: Courier,
  sessionId: string,
  ctx: PlanContext,
  random: Random,
): SessionPlan {
  const { merchant } = order;
  const acceptedMs = order.createdMs + Math.round(random.between(10_000, 90_000));
  // A courier finishing another delivery takes a moment before accepting the next one.
  const earliestMs = Math.max(acceptedMs, courier.freeAtMs + Math.round(random.between(5_000, 60_000)));
  const toPickup = route(ctx, courier, courier.position, merchant.position, earliestMs);
  const readyMs = order.createdMs + order.prepMs;
  const startMs = Math.round(
    Math.max(earliestMs, readyMs - toPickup.seconds * 1000 - ARRIVE_BEFORE_READY_MS),
  );
  const firstLeg = drive(toPickup, startMs, courier, ctx.traffic, random);
  const atPickupMs = firstLeg.arriveMs;
  const pickedUpMs =
    Math.max(atPickupMs, readyMs) + Math.round(random.logNormal(150_000, 0.5, 30_000, 720_000));
  const enRouteMs = pickedUpMs + Math.round(random.between(10_000, 45_000));
  const toDropoff = route(ctx, courier, merchant.position, order.dropoff, enRouteMs);

  // The promise is made when the order is placed, from estimates: the customer never sees the real ride.
  const estimatedPickupMs = Math.max(earliestMs + toPickup.seconds * 1000, readyMs) + 150_000;
  const estimatedDeliveryMs = estimatedPickupMs + 30_000 + toDropoff.seconds * 1000 + 120_000;
  const promisedMs = Math.ceil((estimatedDeliveryMs + PROMISE_BUFFER_MS) / 60_000) * 60_000;

  const base = {
    sessionId,
    order,
    courier: {
      deviceId: courier.deviceId,
      vehicleId: courier.vehicleId,
      vehicle: courier.vehicle,
      baseAccuracyM: courier.baseAccuracyM,
    },
    startMs,
    promisedMs,
    pickup: merchant.point,
    dropoff: order.dropoffPoint,
  };
  const statuses: PlannedStatus[] = [{ status: "started", atMs: startMs }];
  const phases: SessionPhase[] = [{ kind: "drive", startMs, endMs: atPickupMs, trajectory: firstLeg }];
  phases.push({
    kind: "stand",
    startMs: atPickupMs,
    endMs: pickedUpMs,
    point: merchant.point,
    indoors: true,
  });

  if (order.outcome.kind === "cancelled") {
    // Somewhere between a little after the start and a little before the pickup.
    const earliestCancel = startMs + 1000;
    const latestCancel = Math.max(earliestCancel, pickedUpMs - 10_000);
    const cancelMs = Math.round(earliestCancel + order.outcome.at * (latestCancel - earliestCancel));
    statuses.push({ status: "cancelled", atMs: cancelMs, reason: order.outcome.reason });
    const cut = phases
      .filter((phase) => phase.startMs < cancelMs)
      .map((phase) => ({ ...phase, endMs: Math.min(phase.endMs, cancelMs) }));
    const endPosition =
      cancelMs < atPickupMs ? routePosition(toPickup, firstLeg.at(cancelMs).distance) : merchant.position;
    return { ...base, endMs: cancelMs, phases: cut, statuses, endPosition };
  }

  const secondLeg = drive(toDropoff, enRouteMs, courier, ctx.traffic, random);
  const arrivedMs = secondLeg.arriveMs;
  const endMs =
    order.outcome.kind === "failed"
      ? arrivedMs + Math.round(random.between(300_000, 720_000))
      : arrivedMs + Math.round(random.logNormal(120_000, 0.5, 30_000, 600_000));
  phases.push({
    kind: "stand",
    startMs: pickedUpMs,
    endMs: enRouteMs,
    point: merchant.point,
    indoors: false,
  });
  phases.push({ kind: "drive", startMs: enRouteMs, endMs: arrivedMs, trajectory: secondLeg });
  phases.push({ kind: "stand", startMs: arrivedMs, endMs, point: order.dropoffPoint, indoors: true });
  statuses.push(
    { status: "picked_up", atMs: pickedUpMs },
    { status: "en_route", atMs: enRouteMs },
    { status: "arrived", atMs: arrivedMs },
    order.outcome.kind === "failed"
      ? { status: "failed", atMs: endMs, reason: order.outcome.reason }
      : { status: "completed", atMs: endMs },
  );
  return { ...base, endMs, phases, statuses, endPosition: order.dropoff };
}
