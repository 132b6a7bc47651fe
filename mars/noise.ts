import { EARTH_RADIUS_M, type LonLat, offsetM } from "./geo.ts";
import type { Random } from "./random.ts";

/**
 * GPS error as a phone reports it. The error is not white noise: consecutive fixes drift together (a
 * first-order Gauss-Markov process per axis, correlation time {@link CORRELATION_S}), it grows between tall
 * buildings and indoors, and now and then a fix jumps (multipath). `accuracy_m` is reported the way Android
 * does: the radius of 68% confidence, i.e. about 1.51 standard deviations of a 2-D normal error.
 */

const CORRELATION_S = 30;
/** Radius of 68% confidence of a circular 2-D normal error, in standard deviations per axis. */
const ACCURACY_PER_SIGMA = 1.51;
const DEGRADED_FIX_PROBABILITY = 0.01;
const INDOOR_FACTOR = 2.5;
const URBAN_CANYON_FACTOR = 1.4;
const URBAN_CANYON_RADIUS_M = 700;

export interface GpsFix {
  point: LonLat;
  accuracyM: number;
}

export interface GpsContext {
  /** Inside a building (waiting in a restaurant or a stairwell). */
  indoors: boolean;
}

export class GpsNoise {
  readonly #random: Random;
  readonly #baseAccuracyM: number;
  readonly #denseCentres: readonly LonLat[];
  readonly #enabled: boolean;
  #east = 0;
  #north = 0;
  #lastMs: number | undefined;

  /**
   * @param denseCentres places with tall buildings around them, where fixes are worse.
   * @param enabled false gives the true position (for tests and for replaying exact tracks).
   */
  constructor(random: Random, baseAccuracyM: number, denseCentres: readonly LonLat[], enabled = true) {
    this.#random = random;
    this.#baseAccuracyM = baseAccuracyM;
    this.#denseCentres = denseCentres;
    this.#enabled = enabled;
  }

  /** Flat-earth distance test: exact enough at a few hundred metres, and this runs for every fix. */
  #nearDenseCentre(point: LonLat): boolean {
    const metresPerDeg = (EARTH_RADIUS_M * Math.PI) / 180;
    const cosLat = Math.cos((point[1] * Math.PI) / 180);
    const limit = (URBAN_CANYON_RADIUS_M / metresPerDeg) ** 2;
    for (const centre of this.#denseCentres) {
      const dx = (point[0] - centre[0]) * cosLat;
      const dy = point[1] - centre[1];
      if (dx * dx + dy * dy < limit) return true;
    }
    return false;
  }

  /** The fix reported at `ms` (non-decreasing between calls) for a device truly at `truth`. */
  fix(ms: number, truth: LonLat, context: GpsContext): GpsFix {
    let accuracy = this.#baseAccuracyM;
    if (context.indoors) accuracy *= INDOOR_FACTOR;
    if (this.#nearDenseCentre(truth)) accuracy *= URBAN_CANYON_FACTOR;
    const sigma = accuracy / ACCURACY_PER_SIGMA;
    const dtS =
      this.#lastMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, (ms - this.#lastMs) / 1000);
    this.#lastMs = ms;
    // Exact discretisation of the Gauss-Markov process: stationary variance sigma², whatever the step.
    const keep = Math.exp(-dtS / CORRELATION_S);
    const fresh = Math.sqrt(1 - keep * keep);
    this.#east = keep * this.#east + fresh * this.#random.normal(0, sigma);
    this.#north = keep * this.#north + fresh * this.#random.normal(0, sigma);
    let east = this.#east;
    let north = this.#north;
    if (this.#random.chance(DEGRADED_FIX_PROBABILITY)) {
      const jump = this.#random.between(3, 8);
      accuracy *= jump;
      east += this.#random.normal(0, (sigma * jump) / 2);
      north += this.#random.normal(0, (sigma * jump) / 2);
    }
    // The phone's own estimate of its accuracy is itself approximate.
    const reported = Math.max(1, accuracy * this.#random.between(0.85, 1.15));
    if (!this.#enabled) return { point: truth, accuracyM: reported };
    return { point: offsetM(truth, east, north), accuracyM: reported };
  }
}
