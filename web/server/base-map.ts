import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Geometry } from "geojson";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import { CITIES } from "../../mars/cities/index.ts";

/**
 * The offline base map: the simulator's road networks (mars/cities/) as GeoJSON lines, and their
 * places as labelled points. No tile server and no token: the map draws with nothing outside the platform.
 */

interface Feature {
  type: "Feature";
  properties: Record<string, string | number>;
  geometry:
    | { type: "LineString"; coordinates: [number, number][] }
    | { type: "Point"; coordinates: [number, number] };
}

let cached: { type: "FeatureCollection"; features: Feature[] } | undefined;

export function baseMap(): { type: "FeatureCollection"; features: Feature[] } {
  if (cached) return cached;
  const features: Feature[] = [];
  for (const city of Object.values(CITIES)) {
    const at = new Map(city.places.map((place) => [place.id, place.at]));
    for (const road of city.roads) {
      const coordinates = road.path.flatMap((step): [number, number][] => {
        const point = typeof step === "string" ? at.get(step) : step;
        return point ? [[point[0], point[1]]] : [];
      });
      features.push({
        type: "Feature",
        properties: { name: road.name, class: road.roadClass },
        geometry: { type: "LineString", coordinates },
      });
    }
    for (const place of city.places) {
      if (place.demand <= 0.5) continue;
      features.push({
        type: "Feature",
        properties: { name: place.name, kind: "place" },
        geometry: { type: "Point", coordinates: [place.at[0], place.at[1]] },
      });
    }
  }
  cached = { type: "FeatureCollection", features };
  return cached;
}

/**
 * The world outline under the road networks: land and country borders from Natural Earth 1:50m
 * (`world-atlas`, through `topojson-client`), shipped in the npm package and served by Mercury, so a map
 * zoomed out or away from the simulator's cities still shows coasts and borders with no internet.
 */
export interface WorldMap {
  type: "FeatureCollection";
  features: {
    type: "Feature";
    properties: { kind: "land" | "border" };
    geometry: Geometry;
  }[];
}

let world: WorldMap | undefined;

export function worldMap(): WorldMap {
  if (world) return world;
  const require = createRequire(import.meta.url);
  const topology = JSON.parse(
    readFileSync(require.resolve("world-atlas/countries-50m.json"), "utf8"),
  ) as Topology<{
    countries: GeometryCollection;
    land: GeometryCollection;
  }>;
  const land = feature(topology, topology.objects.land);
  // Borders between two countries only: coasts are the land's edge, drawn from the land polygons.
  const borders = mesh(topology, topology.objects.countries, (a, b) => a !== b);
  world = {
    type: "FeatureCollection",
    features: [
      ...land.features.map((f) => ({
        type: "Feature" as const,
        properties: { kind: "land" as const },
        geometry: rounded(planar(f.geometry)),
      })),
      { type: "Feature", properties: { kind: "border" }, geometry: rounded(borders) },
    ],
  };
  return world;
}

type Ring = [number, number][];

/**
 * Natural Earth's land is drawn on a sphere (d3-geo); a flat map needs two fixes, or its triangulation fills
 * the sea with land-coloured wedges: a ring that crosses the antimeridian and comes back (Chukotka, Fiji)
 * is made continuous (longitudes beyond ±180, which the map wraps), and a ring around the pole (Antarctica)
 * is closed along the map's bottom edge, as a polygon of its own.
 */
function planar(geometry: Geometry): Geometry {
  const polygons =
    geometry.type === "Polygon"
      ? [geometry.coordinates as Ring[]]
      : geometry.type === "MultiPolygon"
        ? (geometry.coordinates as Ring[][])
        : undefined;
  if (!polygons) return geometry;
  const out: Ring[][] = [];
  for (const rings of polygons) {
    const kept: Ring[] = [];
    for (const ring of rings) {
      const crossings = ring.filter((p, i) => i > 0 && Math.abs(p[0] - ring[i - 1]![0]) > 180).length;
      if (crossings % 2 === 1) out.push([aroundThePole(ring)]);
      else kept.push(crossings > 0 ? continuous(ring) : ring);
    }
    if (kept.length > 0) out.push(kept);
  }
  return { type: "MultiPolygon", coordinates: out };
}

function continuous(ring: Ring): Ring {
  let shift = 0;
  const unwrapped = ring.map((p, i): [number, number] => {
    if (i > 0) {
      const step = p[0] - ring[i - 1]![0];
      if (step > 180) shift -= 360;
      else if (step < -180) shift += 360;
    }
    return [p[0] + shift, p[1]];
  });
  const mean = unwrapped.reduce((sum, p) => sum + p[0], 0) / unwrapped.length;
  const back = mean > 180 ? -360 : mean < -180 ? 360 : 0;
  return back === 0 ? unwrapped : unwrapped.map(([lon, lat]) => [lon + back, lat]);
}

function aroundThePole(ring: Ring): Ring {
  const at = ring.findIndex((p, i) => i > 0 && Math.abs(p[0] - ring[i - 1]![0]) > 180);
  const open = [...ring.slice(at), ...ring.slice(1, at)];
  const first = open[0]!;
  const last = open.at(-1)!;
  const pole = first[1] < 0 ? -89.9 : 89.9;
  return [...open, [last[0], pole], [first[0], pole], first];
}

/** Coordinates to 4 decimals (about 10 m, far finer than the 1:50m source): a smaller response. */
function rounded<G extends Geometry>(geometry: G): G {
  const round = (value: unknown): unknown =>
    typeof value === "number"
      ? Math.round(value * 1e4) / 1e4
      : Array.isArray(value)
        ? value.map(round)
        : value;
  return { ...geometry, ...("coordinates" in geometry ? { coordinates: round(geometry.coordinates) } : {}) };
}

/** What the browser's map draws on: the offline base map, or Mapbox's with the public token. */
export type BaseMapSettings =
  | { provider: "offline" }
  | { provider: "mapbox"; accessToken: string; style: string };

export const MAPBOX_STYLE = "mapbox://styles/mapbox/light-v11";

export function baseMapSettings(mapboxAccessToken: string | undefined): BaseMapSettings {
  return mapboxAccessToken
    ? { provider: "mapbox", accessToken: mapboxAccessToken, style: MAPBOX_STYLE }
    : { provider: "offline" };
}
