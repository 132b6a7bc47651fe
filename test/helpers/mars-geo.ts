import type { LonLat } from "#mars/geo.ts";
import { pointSegmentDistance } from "#mars/geo.ts";
import type { RoadNetwork } from "#mars/network.ts";

/**
 * Distance from a point to the nearest street of a network, through a grid of the streets' segments
 * (brute force over ~10,000 segments for every ping would make the realism tests slow).
 */
export class StreetIndex {
  readonly #network: RoadNetwork;
  readonly #cellM: number;
  readonly #cells = new Map<string, [number, number, number, number][]>();

  constructor(network: RoadNetwork, cellM = 200) {
    this.#network = network;
    this.#cellM = cellM;
    for (const edge of network.edges) {
      for (let i = 1; i < edge.points.length; i++) {
        const [ax, ay] = network.projection.toXY(edge.points[i - 1]!);
        const [bx, by] = network.projection.toXY(edge.points[i]!);
        const segment: [number, number, number, number] = [ax, ay, bx, by];
        const keys = new Set([this.#key(ax, ay), this.#key(bx, by), this.#key((ax + bx) / 2, (ay + by) / 2)]);
        for (const key of keys) {
          const list = this.#cells.get(key) ?? [];
          list.push(segment);
          this.#cells.set(key, list);
        }
      }
    }
  }

  #key(x: number, y: number): string {
    return `${Math.floor(x / this.#cellM)}:${Math.floor(y / this.#cellM)}`;
  }

  /** Metres to the nearest street (Infinity when more than a grid cell away from every street). */
  distanceToStreet(point: LonLat): number {
    const [x, y] = this.#network.projection.toXY(point);
    const cx = Math.floor(x / this.#cellM);
    const cy = Math.floor(y / this.#cellM);
    let best = Number.POSITIVE_INFINITY;
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const [ax, ay, bx, by] of this.#cells.get(`${cx + dx}:${cy + dy}`) ?? []) {
          best = Math.min(best, pointSegmentDistance(x, y, ax, ay, bx, by));
        }
      }
    }
    return best;
  }
}
