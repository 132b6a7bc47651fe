import { ROAD_CLASSES, type RoadClass } from "./city.ts";

/**
 * Time-of-day traffic: a speed factor (1 = free flow) per road class for every minute of the local day,
 * weekdays and weekends apart. Athens has a morning peak, a strong one when offices and shops close in the
 * afternoon, and a long evening one; big avenues suffer most, side streets least.
 */

const MINUTES_PER_DAY = 1440;

/** Largest share of free-flow speed lost at the worst moment of the day. */
const CONGESTION_DEPTH: Record<RoadClass, number> = {
  motorway: 0.55,
  trunk: 0.5,
  primary: 0.45,
  secondary: 0.35,
  residential: 0.2,
};

/** Two-wheelers keep this share of the slowdown: they filter between queued cars. */
const TWO_WHEELER_SHARE = 0.4;

interface Peak {
  minute: number;
  sigma: number;
  weight: number;
}

const WEEKDAY_PEAKS: Peak[] = [
  { minute: 8 * 60 + 30, sigma: 70, weight: 1 },
  { minute: 14 * 60 + 45, sigma: 75, weight: 0.9 },
  { minute: 18 * 60 + 45, sigma: 90, weight: 0.7 },
];

const WEEKEND_PEAKS: Peak[] = [
  { minute: 13 * 60 + 30, sigma: 120, weight: 0.35 },
  { minute: 20 * 60, sigma: 120, weight: 0.4 },
];

function load(minute: number, peaks: readonly Peak[]): number {
  let total = 0;
  for (const peak of peaks) {
    // Distance on the 24 h circle, so that a late peak spills over midnight correctly.
    const raw = Math.abs(minute - peak.minute);
    const d = Math.min(raw, MINUTES_PER_DAY - raw);
    total += peak.weight * Math.exp(-(d * d) / (2 * peak.sigma * peak.sigma));
  }
  return Math.min(1, total);
}

/** Local minute of the day and day of the week for UTC instants, in one IANA time zone. */
export class LocalClock {
  readonly #format: Intl.DateTimeFormat;
  readonly #byHour = new Map<number, { offset: number; weekend: boolean }>();

  constructor(timeZone: string) {
    this.#format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
  }

  /** Offset of local time from UTC at `ms`, in ms. */
  offsetMs(ms: number): number {
    return this.#hour(ms).offset;
  }

  /** Cached per UTC hour: zones change offset, and local days start, on a UTC hour boundary. */
  #hour(ms: number): { offset: number; weekend: boolean } {
    const hour = Math.floor(ms / 3_600_000);
    const cached = this.#byHour.get(hour);
    if (cached !== undefined) return cached;
    const at = hour * 3_600_000;
    const parts: Record<string, number> = {};
    for (const part of this.#format.formatToParts(new Date(at))) {
      if (part.type !== "literal") parts[part.type] = Number(part.value);
    }
    const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!);
    const day = new Date(local).getUTCDay();
    const entry = { offset: local - at, weekend: day === 0 || day === 6 };
    this.#byHour.set(hour, entry);
    return entry;
  }

  /** Minutes since local midnight, fractional. */
  minuteOfDay(ms: number): number {
    const local = ms + this.offsetMs(ms);
    return (((local / 60_000) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  }

  /** Saturday or Sunday, locally. */
  isWeekend(ms: number): boolean {
    return this.#hour(ms).weekend;
  }
}

export class Traffic {
  readonly clock: LocalClock;
  /** [weekend][class][minute] speed factor. */
  readonly #table: Float64Array[][];

  constructor(timeZone: string) {
    this.clock = new LocalClock(timeZone);
    this.#table = [WEEKDAY_PEAKS, WEEKEND_PEAKS].map((peaks) =>
      ROAD_CLASSES.map((roadClass) => {
        const row = new Float64Array(MINUTES_PER_DAY);
        for (let m = 0; m < MINUTES_PER_DAY; m++)
          row[m] = 1 - CONGESTION_DEPTH[roadClass] * load(m + 0.5, peaks);
        return row;
      }),
    );
  }

  /** Share of free-flow speed available on a road class at instant `ms` (0.45..1). */
  speedFactor(roadClass: RoadClass, ms: number, twoWheeler: boolean): number {
    const minute = Math.floor(this.clock.minuteOfDay(ms));
    const weekend = this.clock.isWeekend(ms) ? 1 : 0;
    const factor = this.#table[weekend]![ROAD_CLASSES.indexOf(roadClass)]![minute]!;
    return twoWheeler ? 1 - TWO_WHEELER_SHARE * (1 - factor) : factor;
  }
}
