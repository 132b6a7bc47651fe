/**
 * Small geodesy helpers. Points are `[lon, lat]` (WGS84 degrees) everywhere, as in GeoJSON and as the
 * architecture requires for any function that takes a point.
 */
export type LonLat = readonly [lon: number, lat: number];

export const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Great-circle distance in metres. */
export function distanceM(a: LonLat, b: LonLat): number {
  const dLat = (b[1] - a[1]) * RAD;
  const dLon = (b[0] - a[0]) * RAD;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * RAD) * Math.cos(b[1] * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Initial bearing from `a` to `b`, degrees clockwise from north in [0, 360). */
export function bearingDeg(a: LonLat, b: LonLat): number {
  const lat1 = a[1] * RAD;
  const lat2 = b[1] * RAD;
  const dLon = (b[0] - a[0]) * RAD;
  const y = Math.sin(dLon) * Math.cos(lat2);
  const x = Math.cos(lat1) * Math.sin(lat2) - Math.sin(lat1) * Math.cos(lat2) * Math.cos(dLon);
  return normaliseDeg(Math.atan2(y, x) / RAD);
}

/** An angle folded into [0, 360). */
export function normaliseDeg(deg: number): number {
  const folded = deg % 360;
  const positive = folded < 0 ? folded + 360 : folded;
  // -1e-15 % 360 + 360 rounds to 360 in floating point.
  return positive >= 360 ? 0 : positive;
}

/** Smallest absolute difference between two bearings, in [0, 180]. */
export function turnDeg(fromBearing: number, toBearing: number): number {
  const diff = Math.abs(normaliseDeg(toBearing - fromBearing));
  return diff > 180 ? 360 - diff : diff;
}

/** Linear interpolation between two points (exact enough over the tens of metres between polyline vertices). */
export function lerp(a: LonLat, b: LonLat, fraction: number): [number, number] {
  // Exact ends: a + (b - a) * 1 is not always b in floating point.
  if (fraction <= 0) return [a[0], a[1]];
  if (fraction >= 1) return [b[0], b[1]];
  return [a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction];
}

/** The point `eastM` metres east and `northM` metres north of `origin`. */
export function offsetM(origin: LonLat, eastM: number, northM: number): [number, number] {
  const lat = origin[1] + northM / (EARTH_RADIUS_M * RAD);
  const lon = origin[0] + eastM / (EARTH_RADIUS_M * RAD * Math.cos(origin[1] * RAD));
  return [lon, lat];
}

/**
 * A local flat projection (equirectangular around an origin): metres east and north. Over a city (tens of
 * kilometres) its distance error is far below a GPS fix's, and straight lines in degrees stay straight.
 */
export class LocalProjection {
  readonly #origin: LonLat;
  readonly #mPerDegLon: number;
  readonly #mPerDegLat = EARTH_RADIUS_M * RAD;

  constructor(origin: LonLat) {
    this.#origin = origin;
    this.#mPerDegLon = EARTH_RADIUS_M * RAD * Math.cos(origin[1] * RAD);
  }

  toXY(point: LonLat): [number, number] {
    return [(point[0] - this.#origin[0]) * this.#mPerDegLon, (point[1] - this.#origin[1]) * this.#mPerDegLat];
  }
}

/** Distance in metres from point `p` to segment `a`-`b`, all in projected metres. */
export function pointSegmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const lengthSq = dx * dx + dy * dy;
  const t = lengthSq === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / lengthSq));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
