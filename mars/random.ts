import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

/**
 * Seeded randomness for the simulation. Every concern (fleet, orders, one session's route, its GPS noise, its
 * ids) draws from its own stream, forked by name from the run's seed, so that adding a draw in one place
 * never shifts the values another place sees, and the same seed always gives the same stream.
 */
export class Random {
  readonly #rng: RandomGenerator;
  readonly #label: string;
  #spareNormal: number | undefined;

  private constructor(label: string) {
    this.#label = label;
    this.#rng = xoroshiro128plusFromState(hash128(label));
  }

  /** The root stream of a run; a string seed and its number form (`42` and `"42"`) give the same run. */
  static fromSeed(seed: string | number): Random {
    return new Random(`mars:${String(seed)}`);
  }

  /** An independent stream named `name` under this one; the parent's own position does not matter. */
  fork(name: string): Random {
    return new Random(`${this.#label}/${name}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.#rng);
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both included. */
  integer(min: number, max: number): number {
    return uniformInt(this.#rng, min, max);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Standard normal draw (Marsaglia polar method). */
  normal(mean = 0, sd = 1): number {
    if (this.#spareNormal !== undefined) {
      const spare = this.#spareNormal;
      this.#spareNormal = undefined;
      return mean + sd * spare;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spareNormal = v * factor;
    return mean + sd * u * factor;
  }

  /** Log-normal draw given its median and the standard deviation of its logarithm, clamped to [min, max]. */
  logNormal(median: number, sigma: number, min: number, max: number): number {
    const value = median * Math.exp(this.normal(0, sigma));
    return Math.min(max, Math.max(min, value));
  }

  /** Exponential draw with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** One of `items`, chosen with probability proportional to `weight(item)`. */
  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    let total = 0;
    for (const item of items) total += weight(item);
    let target = this.next() * total;
    for (const item of items) {
      target -= weight(item);
      if (target < 0) return item;
    }
    return items[items.length - 1]!;
  }

  /** A random (version 4 layout) UUID drawn from this stream: reproducible for a seed. */
  uuid(): string {
    const a = this.#rng.next();
    const b = this.#rng.next();
    // Version nibble 4, variant bits 10.
    const c = (this.#rng.next() & 0x3fffffff) | 0x80000000;
    const d = this.#rng.next();
    return `${hex32(a)}-${hex16(b >>> 16)}-4${hex16(b & 0xffff).slice(1)}-${hex16(c >>> 16)}-${hex16(c & 0xffff)}${hex32(d)}`;
  }
}

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex16(value: number): string {
  return HEX_BYTES[(value >>> 8) & 0xff]! + HEX_BYTES[value & 0xff]!;
}

function hex32(value: number): string {
  return hex16(value >>> 16) + hex16(value & 0xffff);
}

/** cyrb128: a fast, well-mixed 128-bit string hash, used only to turn stream names into generator states. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  // xoroshiro128+ must not start from the all-zero state.
  if ((h1 | h2 | h3 | h4) === 0) h1 = 1;
  return [h1 | 0, h2 | 0, h3 | 0, h4 | 0];
}
