import type { City, RoadClass } from "./city.ts";
import { bearingDeg, distanceM, LocalProjection, type LonLat, lerp } from "./geo.ts";
import type { Random } from "./random.ts";

/**
 * The road network of a city as a graph: junctions are nodes, each street between two junctions is an edge
 * with a densified polyline (a vertex at least every {@link MAX_VERTEX_SPACING_M} metres) so that positions
 * interpolated along it stay on the street.
 */

export const MAX_VERTEX_SPACING_M = 30;

export interface RoadNode {
  index: number;
  id: string;
  name: string;
  at: LonLat;
  demand: number;
  /** Edges that can be driven away from this node. */
  out: Arc[];
  /** A junction of at least three streets that is not a motorway interchange has traffic lights. */
  signalized: boolean;
}

/** One drivable direction of an edge. */
export interface Arc {
  edge: number;
  /** True when driving from the edge's `from` node to its `to` node. */
  forward: boolean;
  to: number;
}

export interface RoadEdge {
  index: number;
  name: string;
  roadClass: RoadClass;
  maxSpeedKmh: number;
  oneway: boolean;
  from: number;
  to: number;
  /** Densified polyline from `from` to `to`. */
  points: LonLat[];
  /** Distance in metres from the start of the polyline to each vertex. */
  cum: number[];
  length: number;
}

/** A point on the network: metres along an edge's polyline, measured from its `from` node. */
export interface EdgePosition {
  edge: number;
  offset: number;
}

/** How likely a street of each class is to hold a customer's door or a merchant. */
const PLACEMENT_WEIGHT: Record<RoadClass, number> = {
  motorway: 0,
  trunk: 0.5,
  primary: 1,
  secondary: 1.2,
  residential: 1.5,
};

export class RoadNetwork {
  readonly city: City;
  readonly nodes: readonly RoadNode[];
  readonly edges: readonly RoadEdge[];
  readonly projection: LocalProjection;
  /** Cumulative placement weight per edge, for drawing positions in proportion to length and demand. */
  readonly #placementCum: Float64Array;

  private constructor(city: City, nodes: RoadNode[], edges: RoadEdge[]) {
    this.city = city;
    this.nodes = nodes;
    this.edges = edges;
    const lon = nodes.reduce((sum, n) => sum + n.at[0], 0) / nodes.length;
    const lat = nodes.reduce((sum, n) => sum + n.at[1], 0) / nodes.length;
    this.projection = new LocalProjection([lon, lat]);
    this.#placementCum = new Float64Array(edges.length);
    let total = 0;
    for (const edge of edges) {
      const demand = (nodes[edge.from]!.demand + nodes[edge.to]!.demand) / 2;
      total += edge.length * demand * PLACEMENT_WEIGHT[edge.roadClass];
      this.#placementCum[edge.index] = total;
    }
  }

  /** Builds the graph of a city; throws when a road names an unknown place or is malformed. */
  static fromCity(city: City): RoadNetwork {
    const nodes: RoadNode[] = [];
    const byId = new Map<string, number>();
    for (const place of city.places) {
      if (byId.has(place.id)) throw new Error(`City ${city.id}: place id "${place.id}" is used twice`);
      byId.set(place.id, nodes.length);
      nodes.push({ ...place, index: nodes.length, out: [], signalized: false });
    }
    const edges: RoadEdge[] = [];
    for (const road of city.roads) {
      const first = road.path[0];
      const last = road.path[road.path.length - 1];
      if (typeof first !== "string" || typeof last !== "string" || road.path.length < 2) {
        throw new Error(`City ${city.id}: road "${road.name}" must start and end at a place id`);
      }
      let fromNode = byId.get(first);
      if (fromNode === undefined)
        throw new Error(`City ${city.id}: road "${road.name}" names unknown place "${first}"`);
      let shape: LonLat[] = [nodes[fromNode]!.at];
      for (const step of road.path.slice(1)) {
        if (typeof step !== "string") {
          shape.push(step);
          continue;
        }
        const toNode = byId.get(step);
        if (toNode === undefined)
          throw new Error(`City ${city.id}: road "${road.name}" names unknown place "${step}"`);
        if (toNode === fromNode) throw new Error(`City ${city.id}: road "${road.name}" loops at "${step}"`);
        shape.push(nodes[toNode]!.at);
        const points = densify(shape);
        const cum = cumulative(points);
        const edge: RoadEdge = {
          index: edges.length,
          name: road.name,
          roadClass: road.roadClass,
          maxSpeedKmh: road.maxSpeedKmh,
          oneway: road.oneway ?? false,
          from: fromNode,
          to: toNode,
          points,
          cum,
          length: cum[cum.length - 1]!,
        };
        edges.push(edge);
        nodes[fromNode]!.out.push({ edge: edge.index, forward: true, to: toNode });
        if (!edge.oneway) nodes[toNode]!.out.push({ edge: edge.index, forward: false, to: fromNode });
        fromNode = toNode;
        shape = [nodes[toNode]!.at];
      }
    }
    const degree = new Map<number, Set<RoadClass>>();
    const count = new Array<number>(nodes.length).fill(0);
    for (const edge of edges) {
      for (const end of [edge.from, edge.to]) {
        count[end]! += 1;
        const classes = degree.get(end) ?? new Set<RoadClass>();
        classes.add(edge.roadClass);
        degree.set(end, classes);
      }
    }
    for (const node of nodes) {
      const classes = degree.get(node.index);
      node.signalized = count[node.index]! >= 3 && classes !== undefined && !classes.has("motorway");
    }
    return new RoadNetwork(city, nodes, edges);
  }

  node(id: string): RoadNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`City ${this.city.id} has no place "${id}"`);
    return node;
  }

  /** The point at a position on the network. */
  pointAt(position: EdgePosition): LonLat {
    const edge = this.edges[position.edge]!;
    return pointAlong(edge.points, edge.cum, position.offset).point;
  }

  /** A random door along the streets: in proportion to street length and the demand around it. */
  randomPosition(random: Random): EdgePosition {
    const total = this.#placementCum[this.#placementCum.length - 1]!;
    const target = random.next() * total;
    let lo = 0;
    let hi = this.#placementCum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#placementCum[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    const edge = this.edges[lo]!;
    // Keep doors off the junction itself, where a courier could not park.
    const margin = Math.min(15, edge.length / 4);
    return { edge: edge.index, offset: random.between(margin, edge.length - margin) };
  }

  /**
   * A random door between `minM` and `maxM` metres (straight line) from `origin`; after a bounded number of
   * draws, the draw closest to that ring.
   */
  randomPositionNear(random: Random, origin: LonLat, minM: number, maxM: number): EdgePosition {
    let best: EdgePosition | undefined;
    let bestMiss = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 200; attempt++) {
      const candidate = this.randomPosition(random);
      const d = distanceM(origin, this.pointAt(candidate));
      const miss = d < minM ? minM - d : d > maxM ? d - maxM : 0;
      if (miss === 0) return candidate;
      if (miss < bestMiss) {
        best = candidate;
        bestMiss = miss;
      }
    }
    return best!;
  }

  /** Total length of the streets, metres. */
  get totalLengthM(): number {
    return this.edges.reduce((sum, e) => sum + e.length, 0);
  }
}

/** Inserts vertices so that no two consecutive ones are more than {@link MAX_VERTEX_SPACING_M} apart. */
export function densify(shape: readonly LonLat[]): LonLat[] {
  const points: LonLat[] = [shape[0]!];
  for (let i = 1; i < shape.length; i++) {
    const a = shape[i - 1]!;
    const b = shape[i]!;
    const pieces = Math.max(1, Math.ceil(distanceM(a, b) / MAX_VERTEX_SPACING_M));
    for (let k = 1; k < pieces; k++) points.push(lerp(a, b, k / pieces));
    points.push(b);
  }
  return points;
}

export function cumulative(points: readonly LonLat[]): number[] {
  const cum = [0];
  for (let i = 1; i < points.length; i++) cum.push(cum[i - 1]! + distanceM(points[i - 1]!, points[i]!));
  return cum;
}

/** The point `distance` metres along a polyline, with the index of its segment and the segment's bearing. */
export function pointAlong(
  points: readonly LonLat[],
  cum: readonly number[],
  distance: number,
): { point: LonLat; segment: number; bearing: number } {
  if (points.length === 1) return { point: points[0]!, segment: 0, bearing: 0 };
  const last = cum.length - 1;
  const d = Math.min(Math.max(distance, 0), cum[last]!);
  let lo = 0;
  let hi = last - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cum[mid]! <= d) lo = mid;
    else hi = mid - 1;
  }
  const a = points[lo]!;
  const b = points[lo + 1]!;
  const span = cum[lo + 1]! - cum[lo]!;
  const fraction = span === 0 ? 0 : (d - cum[lo]!) / span;
  return { point: lerp(a, b, fraction), segment: lo, bearing: bearingDeg(a, b) };
}
