import type { RoadClass } from "./city.ts";
import { bearingDeg, distanceM, type LonLat, turnDeg } from "./geo.ts";
import { type EdgePosition, pointAlong, type RoadEdge, type RoadNetwork, type RoadNode } from "./network.ts";

/**
 * Fastest routes on the road network: A* over junctions by expected travel time, from a point on one street
 * to a point on another. The network is small (tens of junctions), so a plain binary heap is plenty.
 */

/** What a route costs for one vehicle at one time of day. */
export interface TravelModel {
  canUse(edge: RoadEdge): boolean;
  /** Expected seconds to drive `metres` of `edge`. */
  seconds(edge: RoadEdge, metres: number): number;
  /** Expected wait at a junction (traffic lights), seconds. */
  junctionSeconds(node: RoadNode): number;
  /** No speed in `seconds` exceeds this (m/s): keeps the A* heuristic admissible. */
  maxSpeedMps: number;
}

export interface RouteSegment {
  edge: number;
  roadClass: RoadClass;
  maxSpeedKmh: number;
  /** Offsets on `edge` (metres from its `from` node) of the segment's two ends. */
  edgeOffsets: readonly [number, number];
}

/** A junction the route passes through. */
export interface RouteJunction {
  /** Metres from the start of the route. */
  distance: number;
  node: number;
  /** How sharply the route turns there, 0 (straight on) to 180 (U-turn). */
  turnDeg: number;
  signalized: boolean;
}

export interface Route {
  points: LonLat[];
  /** Metres from the start to each point. */
  cum: number[];
  /** `segments[i]` describes the street between `points[i]` and `points[i + 1]`. */
  segments: RouteSegment[];
  junctions: RouteJunction[];
  length: number;
  /** Expected travel time, seconds. */
  seconds: number;
  from: EdgePosition;
  to: EdgePosition;
}

interface Piece {
  edge: RoadEdge;
  from: number;
  to: number;
}

/** Fastest route, or `undefined` when the destination cannot be reached with this vehicle. */
export function findRoute(
  network: RoadNetwork,
  from: EdgePosition,
  to: EdgePosition,
  model: TravelModel,
): Route | undefined {
  const nodes = network.nodes;
  const target = nodes.length;
  const startEdge = network.edges[from.edge]!;
  const endEdge = network.edges[to.edge]!;
  const targetPoint = network.pointAt(to);
  const best = new Float64Array(nodes.length + 1).fill(Number.POSITIVE_INFINITY);
  /** How each node was reached: an arc from a node, the start position, or (for the target) directly. */
  const via: ({ node: number; arcIndex: number } | "start" | undefined)[] = new Array(nodes.length + 1);
  const done = new Uint8Array(nodes.length + 1);
  const heap = new MinHeap();
  const heuristic = (node: number) =>
    node === target ? 0 : distanceM(nodes[node]!.at, targetPoint) / model.maxSpeedMps;
  const relax = (node: number, cost: number, how: { node: number; arcIndex: number } | "start") => {
    if (cost < best[node]!) {
      best[node] = cost;
      via[node] = how;
      heap.push(cost + heuristic(node), node);
    }
  };

  // Leave the start street at either end (only forwards on a one-way street)...
  relax(startEdge.to, model.seconds(startEdge, startEdge.length - from.offset), "start");
  if (!startEdge.oneway) relax(startEdge.from, model.seconds(startEdge, from.offset), "start");
  // ...or stay on it when the destination is further along the same street.
  const directTo = directPiece(startEdge, from, to);
  if (directTo) relax(target, model.seconds(startEdge, Math.abs(directTo.to - directTo.from)), "start");

  while (heap.size > 0) {
    const node = heap.pop();
    if (done[node]) continue;
    done[node] = 1;
    if (node === target) break;
    const here = nodes[node]!;
    const wait = model.junctionSeconds(here);
    // Enter the destination street from this junction.
    if (node === endEdge.from)
      relax(target, best[node]! + wait + model.seconds(endEdge, to.offset), { node, arcIndex: -1 });
    if (node === endEdge.to && !endEdge.oneway) {
      relax(target, best[node]! + wait + model.seconds(endEdge, endEdge.length - to.offset), {
        node,
        arcIndex: -2,
      });
    }
    here.out.forEach((arc, arcIndex) => {
      const edge = network.edges[arc.edge]!;
      if (!model.canUse(edge)) return;
      relax(arc.to, best[node]! + wait + model.seconds(edge, edge.length), { node, arcIndex });
    });
  }
  if (!Number.isFinite(best[target]!)) return undefined;

  const pieces: Piece[] = [];
  const junctionNodes: number[] = [];
  const reachedBy = via[target]!;
  if (reachedBy === "start") {
    pieces.push(directTo!);
  } else {
    const last = reachedBy.node;
    pieces.push(
      reachedBy.arcIndex === -1
        ? { edge: endEdge, from: 0, to: to.offset }
        : { edge: endEdge, from: endEdge.length, to: to.offset },
    );
    junctionNodes.push(last);
    let node = last;
    for (;;) {
      const how = via[node]!;
      if (how === "start") {
        pieces.push({
          edge: startEdge,
          from: from.offset,
          to: node === startEdge.to ? startEdge.length : 0,
        });
        break;
      }
      const arc = nodes[how.node]!.out[how.arcIndex]!;
      const edge = network.edges[arc.edge]!;
      pieces.push(arc.forward ? { edge, from: 0, to: edge.length } : { edge, from: edge.length, to: 0 });
      junctionNodes.push(how.node);
      node = how.node;
    }
    pieces.reverse();
    junctionNodes.reverse();
  }
  return { ...assemble(network, pieces, junctionNodes, best[target]!), from, to };
}

/** The piece of the start street that reaches the destination without leaving it, if there is one. */
function directPiece(edge: RoadEdge, from: EdgePosition, to: EdgePosition): Piece | undefined {
  if (from.edge !== to.edge) return undefined;
  if (to.offset >= from.offset) return { edge, from: from.offset, to: to.offset };
  return edge.oneway ? undefined : { edge, from: from.offset, to: to.offset };
}

/** The vertices of an edge between two offsets with their offsets, in the direction of travel. */
function slice(piece: Piece): { point: LonLat; offset: number }[] {
  const { edge } = piece;
  const lo = Math.min(piece.from, piece.to);
  const hi = Math.max(piece.from, piece.to);
  const vertices = [{ point: pointAlong(edge.points, edge.cum, lo).point, offset: lo }];
  for (let i = 0; i < edge.points.length; i++) {
    if (edge.cum[i]! > lo && edge.cum[i]! < hi)
      vertices.push({ point: edge.points[i]!, offset: edge.cum[i]! });
  }
  if (hi > lo) vertices.push({ point: pointAlong(edge.points, edge.cum, hi).point, offset: hi });
  return piece.from <= piece.to ? vertices : vertices.reverse();
}

/** Same place, to well under a millimetre. */
function samePoint(a: LonLat, b: LonLat): boolean {
  return Math.abs(a[0] - b[0]) < 1e-9 && Math.abs(a[1] - b[1]) < 1e-9;
}

function assemble(
  network: RoadNetwork,
  pieces: Piece[],
  junctionNodes: number[],
  seconds: number,
): Omit<Route, "from" | "to"> {
  const points: LonLat[] = [];
  const segments: RouteSegment[] = [];
  /** Index in `points` where each junction (piece boundary) lies. */
  const junctionAt: number[] = [];
  pieces.forEach((piece, i) => {
    if (i > 0) junctionAt.push(Math.max(0, points.length - 1));
    let previousOffset = piece.from;
    for (const { point, offset } of slice(piece)) {
      const previous = points[points.length - 1];
      if (previous && samePoint(previous, point)) {
        previousOffset = offset;
        continue;
      }
      if (points.length > 0) {
        segments.push({
          edge: piece.edge.index,
          roadClass: piece.edge.roadClass,
          maxSpeedKmh: piece.edge.maxSpeedKmh,
          edgeOffsets: [previousOffset, offset],
        });
      }
      points.push(point);
      previousOffset = offset;
    }
  });
  const cum = [0];
  for (let i = 1; i < points.length; i++) cum.push(cum[i - 1]! + distanceM(points[i - 1]!, points[i]!));
  const junctions = junctionNodes.map((node, i): RouteJunction => {
    const k = junctionAt[i]!;
    const before = points[k - 1];
    const here = points[k]!;
    const after = points[k + 1];
    return {
      distance: cum[k]!,
      node,
      turnDeg: before && after ? turnDeg(bearingDeg(before, here), bearingDeg(here, after)) : 0,
      signalized: network.nodes[node]!.signalized,
    };
  });
  return { points, cum, segments, junctions, length: cum[cum.length - 1]!, seconds };
}

/** The network position (edge and offset) `distance` metres along a route. */
export function routePosition(route: Route, distance: number): EdgePosition {
  if (distance >= route.length) return route.to;
  const { segment } = pointAlong(route.points, route.cum, distance);
  const info = route.segments[segment];
  if (!info) return route.from;
  const span = route.cum[segment + 1]! - route.cum[segment]!;
  const fraction = span === 0 ? 0 : Math.min(1, Math.max(0, (distance - route.cum[segment]!) / span));
  return {
    edge: info.edge,
    offset: info.edgeOffsets[0] + (info.edgeOffsets[1] - info.edgeOffsets[0]) * fraction,
  };
}

/** A binary min-heap of node indices keyed by priority. */
class MinHeap {
  readonly #keys: number[] = [];
  readonly #values: number[] = [];

  get size(): number {
    return this.#keys.length;
  }

  push(key: number, value: number): void {
    const keys = this.#keys;
    const values = this.#values;
    let i = keys.length;
    keys.push(key);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      values[i] = values[parent]!;
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  pop(): number {
    const keys = this.#keys;
    const values = this.#values;
    const top = values[0]!;
    const lastKey = keys.pop()!;
    const lastValue = values.pop()!;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && keys[right]! < keys[left]! ? right : left;
        if (keys[child]! >= lastKey) break;
        keys[i] = keys[child]!;
        values[i] = values[child]!;
        i = child;
      }
      keys[i] = lastKey;
      values[i] = lastValue;
    }
    return top;
  }
}
