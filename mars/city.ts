import type { LonLat } from "./geo.ts";

/**
 * A city the simulator can run in: named junctions and landmarks, the roads between them, and how orders
 * spread over the day. Cities are plain data so that another one can be added as one file in
 * `mars/cities/` and registered in `cities/index.ts`.
 */

export type RoadClass = "motorway" | "trunk" | "primary" | "secondary" | "residential";

export const ROAD_CLASSES: readonly RoadClass[] = [
  "motorway",
  "trunk",
  "primary",
  "secondary",
  "residential",
];

export interface CityPlace {
  /** Stable id used by roads (`syntagma`). */
  id: string;
  /** Name people use (`Syntagma Square`). */
  name: string;
  /** Position, `[lon, lat]`. */
  at: LonLat;
  /** Relative density of customers and merchants around the place, 0..1 (0 for a motorway interchange). */
  demand: number;
}

export interface CityRoad {
  /** Street name, for documentation and debugging. */
  name: string;
  roadClass: RoadClass;
  maxSpeedKmh: number;
  /** One-way in the order of `path`. */
  oneway?: boolean;
  /**
   * The road as a sequence: place ids are junctions (graph nodes), `[lon, lat]` pairs are shape points in
   * between that make the geometry follow the street. Must start and end with a place id.
   */
  path: readonly (string | LonLat)[];
}

export interface City {
  id: string;
  name: string;
  /** IANA time zone: demand and traffic follow the local clock. */
  timeZone: string;
  places: readonly CityPlace[];
  roads: readonly CityRoad[];
  /** How far from its merchant an order's drop-off may be (straight line), metres. */
  deliveryRadiusM: number;
  /**
   * Relative order rate for each local hour 0..23 (the value applies at the middle of the hour and is
   * interpolated in between). Scale does not matter.
   */
  demandByHour: readonly number[];
}
