import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTimestampMs, TIMESTAMP_PATTERN } from "#shared/events/index.ts";
import { formatTimestampMs, matchesTimestampPattern } from "#shared/events/timestamp.ts";
import { dateTimeLike } from "#test/helpers/date-times.ts";

/**
 * `parseTimestampMs` reads the common shapes without the regex and counts days without `Date.UTC`, and
 * `matchesTimestampPattern` stands for the pattern in the validators' pre-check. These properties hold them
 * to the regex and the reading they replaced, on near-timestamps and on any text.
 */

/**
 * The reading `parseTimestampMs` had before the common shapes skipped the regex, kept here as the oracle:
 * the pattern, calendar and clock ranges, then `Date.UTC` (shifted by 400 years below year 100).
 */
function referenceParse(text: string): number {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  if (day > monthDays) return Number.NaN;
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return Number.NaN;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const local =
    year < 100
      ? Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - 146_097 * 86_400_000
      : Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return local - offsetMinutes * 60_000;
}

describe("timestamp reading without the regex", () => {
  it("gives the same time (or NaN) as the pattern and Date.UTC", () => {
    // Prepare
    const text = fc.oneof(
      dateTimeLike,
      fc.string({ maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 30 }),
    );

    // Act + Assess
    fc.assert(
      fc.property(text, (value) => {
        expect(Object.is(parseTimestampMs(value), referenceParse(value))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it("counts days as Date.UTC does on the first and last day of every month of years 0-9999", () => {
    // Prepare
    const texts: string[] = [];
    for (let year = 0; year <= 9999; year++) {
      for (let month = 1; month <= 12; month++) {
        for (const day of [1, 28, 29, 30, 31]) {
          const date = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
          texts.push(`${date}T23:59:59.999Z`);
        }
      }
    }

    // Act
    const different = texts.filter((text) => !Object.is(parseTimestampMs(text), referenceParse(text)));

    // Assess
    expect(different).toEqual([]);
  });

  it("matches exactly the texts the pattern matches, and a match leaves every later reading right", () => {
    // Prepare
    const text = fc.oneof(dateTimeLike, fc.string({ maxLength: 40 }));

    // Act + Assess
    fc.assert(
      fc.property(text, text, (first, second) => {
        expect(matchesTimestampPattern(first)).toBe(TIMESTAMP_PATTERN.test(first));
        // The match remembers its reading: the same text, or any other, must read as without it.
        expect(Object.is(parseTimestampMs(first), referenceParse(first))).toBe(true);
        expect(Object.is(parseTimestampMs(second), referenceParse(second))).toBe(true);
        expect(Object.is(parseTimestampMs(first), referenceParse(first))).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it("keeps 1970-01-01T00:00:00 at +0 whatever the zone spelling", () => {
    // Act + Assess
    for (const text of ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00", "1970-01-01T00:00:00-00:00"]) {
      expect(Object.is(parseTimestampMs(text), 0)).toBe(true);
    }
  });
});

describe("formatTimestampMs", () => {
  /** What it replaces, with the error as a value so both sides compare. */
  const reference = (ms: number) => {
    try {
      return new Date(ms).toISOString();
    } catch (error) {
      return `throws ${(error as Error).name}`;
    }
  };
  const formatted = (ms: number) => {
    try {
      return formatTimestampMs(ms);
    } catch (error) {
      return `throws ${(error as Error).name}`;
    }
  };
  const LIMIT = 8.64e15;
  // Any time Date can hold, the edges and just past them, fractions, and runs of nearby times that share or
  // cross minutes (the cached prefix must never leak from one minute into another).
  const anyTime = fc.oneof(
    fc.maxSafeInteger().map((n) => n % (LIMIT + 1)),
    fc.constantFrom(0, -1, LIMIT, -LIMIT, LIMIT + 1, -LIMIT - 1, Number.NaN, Infinity, 1.5, -0.5, -60_000.25),
    fc.double({ min: -LIMIT * 1.1, max: LIMIT * 1.1 }),
  );
  const runs = fc.tuple(anyTime, fc.array(fc.integer({ min: -120_000, max: 120_000 }), { maxLength: 30 }));

  it("gives exactly what Date's toISOString gives, or throws where it throws, in any order of calls", () => {
    // Act + Assess
    fc.assert(
      fc.property(runs, ([start, steps]) => {
        let ms = start;
        expect(formatted(ms)).toBe(reference(ms));
        for (const step of steps) {
          ms += step;
          expect(formatted(ms)).toBe(reference(ms));
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
