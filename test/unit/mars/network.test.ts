import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { athens } from "#mars/cities/athens.ts";
import { CITIES } from "#mars/cities/index.ts";
import type { City } from "#mars/city.ts";
import { travelModel } from "#mars/courier.ts";
import { distanceM } from "#mars/geo.ts";
import { type EdgePosition, MAX_VERTEX_SPACING_M, RoadNetwork } from "#mars/network.ts";
import { findRoute, routePosition, type TravelModel } from "#mars/routing.ts";
import { networkOf } from "#mars/simulate.ts";
import { Traffic } from "#mars/traffic.ts";
import { VEHICLE_PROFILES, VEHICLE_TYPES } from "#mars/vehicles.ts";

const network = networkOf(athens);
const traffic = new Traffic(athens.timeZone);
const NOON = Date.UTC(2024, 4, 1, 9, 0);

function model(type: keyof typeof VEHICLE_PROFILES): TravelModel {
  return travelModel({ vehicle: VEHICLE_PROFILES[type], pace: 1 }, traffic, NOON);
}

/** Position `metres` into the first edge named `name` that leaves place `from`. */
function near(name: string, from: string, metres = 5): EdgePosition {
  const node = network.node(from);
  const edge = network.edges.find((e) => e.name === name && (e.from === node.index || e.to === node.index));
  if (!edge) throw new Error(`no ${name} at ${from}`);
  return { edge: edge.index, offset: edge.from === node.index ? metres : edge.length - metres };
}

/** Plain Dijkstra over the same costs as findRoute, written independently as a reference. */
function referenceSeconds(from: EdgePosition, to: EdgePosition, costs: TravelModel): number {
  const n = network.nodes.length;
  const best = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  const done = new Array<boolean>(n).fill(false);
  const start = network.edges[from.edge]!;
  const end = network.edges[to.edge]!;
  best[start.to] = costs.seconds(start, start.length - from.offset);
  if (!start.oneway) best[start.from] = Math.min(best[start.from]!, costs.seconds(start, from.offset));
  for (;;) {
    let u = -1;
    for (let i = 0; i < n; i++) if (!done[i] && (u < 0 || best[i]! < best[u]!)) u = i;
    if (u < 0 || !Number.isFinite(best[u]!)) break;
    done[u] = true;
    const node = network.nodes[u]!;
    for (const arc of node.out) {
      const edge = network.edges[arc.edge]!;
      if (!costs.canUse(edge)) continue;
      best[arc.to] = Math.min(
        best[arc.to]!,
        best[u]! + costs.junctionSeconds(node) + costs.seconds(edge, edge.length),
      );
    }
  }
  let answer = Number.POSITIVE_INFINITY;
  const wait = (i: number) => costs.junctionSeconds(network.nodes[i]!);
  answer = Math.min(answer, best[end.from]! + wait(end.from) + costs.seconds(end, to.offset));
  if (!end.oneway)
    answer = Math.min(answer, best[end.to]! + wait(end.to) + costs.seconds(end, end.length - to.offset));
  if (from.edge === to.edge && (to.offset >= from.offset || !start.oneway)) {
    answer = Math.min(answer, costs.seconds(start, Math.abs(to.offset - from.offset)));
  }
  return answer;
}

const position = fc
  .integer({ min: 0, max: network.edges.length - 1 })
  .chain((edge) =>
    fc.double({ min: 0, max: network.edges[edge]!.length, noNaN: true }).map((offset) => ({ edge, offset })),
  );

describe("Mars road network of Athens", () => {
  it("has the size of a compact city graph", () => {
    // Assess
    expect(network.nodes.length).toBeGreaterThanOrEqual(40);
    expect(network.nodes.length).toBeLessThanOrEqual(80);
    expect(network.totalLengthM).toBeGreaterThan(100_000);
  });

  it("puts landmarks at their real distances from Syntagma", () => {
    // Prepare: straight-line distances measured on a map, in km.
    const real: Record<string, number> = {
      omonia: 1.1,
      monastiraki: 0.8,
      piraeus: 8.8,
      kifisia: 12.1,
      glyfada: 13,
    };

    for (const [id, km] of Object.entries(real)) {
      // Act
      const measured = distanceM(network.node("syntagma").at, network.node(id).at) / 1000;

      // Assess
      expect(measured, id).toBeGreaterThan(km * 0.85);
      expect(measured, id).toBeLessThan(km * 1.15);
    }
  });

  it("densifies every street to a vertex at least every 30 m", () => {
    // Act
    const longest = Math.max(
      ...network.edges.flatMap((e) => e.points.slice(1).map((p, i) => distanceM(e.points[i]!, p))),
    );

    // Assess
    expect(longest).toBeLessThanOrEqual(MAX_VERTEX_SPACING_M + 0.01);
  });

  it.each(Object.values(CITIES).flatMap((city) => VEHICLE_TYPES.map((type) => [city.id, type] as const)))(
    "connects every junction of %s to every other for a %s",
    (cityId, type) => {
      // Prepare
      const cityNetwork = networkOf(CITIES[cityId]!);
      const allowed = new Set(VEHICLE_PROFILES[type].roads);
      const reach = (reverse: boolean) => {
        const seen = new Set([0]);
        const queue = [0];
        while (queue.length > 0) {
          const u = queue.pop()!;
          for (const edge of cityNetwork.edges) {
            if (!allowed.has(edge.roadClass)) continue;
            const hops: [number, number][] = [[edge.from, edge.to]];
            if (!edge.oneway) hops.push([edge.to, edge.from]);
            for (const [a, b] of hops) {
              const [src, dst] = reverse ? [b, a] : [a, b];
              if (src === u && !seen.has(dst)) {
                seen.add(dst);
                queue.push(dst);
              }
            }
          }
        }
        return seen.size;
      };

      // Act & Assess: strongly connected = everything reachable from node 0 and node 0 reachable from everything.
      expect(reach(false)).toBe(cityNetwork.nodes.length);
      expect(reach(true)).toBe(cityNetwork.nodes.length);
    },
  );

  it("rejects a city whose road names an unknown place", () => {
    // Prepare
    const broken: City = {
      ...athens,
      roads: [
        { name: "Nowhere Street", roadClass: "residential", maxSpeedKmh: 30, path: ["syntagma", "atlantis"] },
      ],
    };

    // Act & Assess
    expect(() => RoadNetwork.fromCity(broken)).toThrow(/unknown place "atlantis"/);
  });
});

describe("Mars routing", () => {
  it("finds the fastest route, as a plain Dijkstra does", () => {
    fc.assert(
      fc.property(position, position, fc.constantFrom(...VEHICLE_TYPES), (from, to, type) => {
        // Prepare
        const costs = model(type);

        // Act
        const route = findRoute(network, from, to, costs);

        // Assess
        expect(route).toBeDefined();
        expect(route!.seconds).toBeCloseTo(referenceSeconds(from, to, costs), 6);
      }),
      { numRuns: 150, seed: 20240501 },
    );
  });

  it("starts at the origin, ends at the destination, and follows the streets", () => {
    fc.assert(
      fc.property(position, position, (from, to) => {
        // Act
        const route = findRoute(network, from, to, model("car"))!;

        // Assess
        expect(distanceM(route.points[0]!, network.pointAt(from))).toBeLessThan(0.01);
        expect(distanceM(route.points[route.points.length - 1]!, network.pointAt(to))).toBeLessThan(0.01);
        expect(route.segments).toHaveLength(Math.max(0, route.points.length - 1));
        expect(route.length).toBeCloseTo(route.cum[route.cum.length - 1]!, 6);
        const middle = routePosition(route, route.length / 2);
        expect(distanceM(network.pointAt(middle), pointOnRoute(route, route.length / 2))).toBeLessThan(0.5);
      }),
      { numRuns: 100, seed: 7 },
    );
  });

  it("drives one-way streets only in their direction", () => {
    // Prepare
    const syntagma = near("Amalias Avenue", "syntagma");
    const omonia = near("Athinas Street", "omonia");
    const names = (route: ReturnType<typeof findRoute>) =>
      new Set(route!.segments.map((s) => network.edges[s.edge]!.name));

    // Act
    const northbound = names(findRoute(network, syntagma, omonia, model("car")));
    const southbound = names(findRoute(network, omonia, syntagma, model("car")));

    // Assess
    expect(northbound).toContain("Panepistimiou Street");
    expect(northbound).not.toContain("Stadiou Street");
    expect(southbound).toContain("Stadiou Street");
    expect(southbound).not.toContain("Panepistimiou Street");
  });

  it("keeps bicycles and scooters off the motorway, and lets cars take it", () => {
    // Prepare
    const peristeri = near("Panagi Tsaldari Avenue", "kifisou_peristeri", 20);
    const faliro = near("Poseidonos Avenue", "kifisou_faliro", 20);
    const classes = (type: keyof typeof VEHICLE_PROFILES) =>
      new Set(findRoute(network, peristeri, faliro, model(type))!.segments.map((s) => s.roadClass));

    // Act & Assess
    expect(classes("bicycle")).not.toContain("motorway");
    expect(classes("scooter")).not.toContain("motorway");
    expect(classes("car")).toContain("motorway");
  });
});

function pointOnRoute(route: NonNullable<ReturnType<typeof findRoute>>, distance: number) {
  if (route.points.length === 1) return route.points[0]!;
  let i = 0;
  while (i < route.cum.length - 2 && route.cum[i + 1]! < distance) i++;
  const span = route.cum[i + 1]! - route.cum[i]!;
  const f = span === 0 ? 0 : (distance - route.cum[i]!) / span;
  const a = route.points[i]!;
  const b = route.points[i + 1] ?? a;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f] as const;
}
