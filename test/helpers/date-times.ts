import fc from "fast-check";

/** Two digits, 00-99: any value in a date-time field, possible or not. */
export const twoDigits = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, "0"));

/**
 * Date-times near the contract's shape: any digits in every field (so Feb 30, hour 24, minute 60), years
 * around the epoch and the clock or any year, fractions of 0-11 digits, and every zone form.
 */
export const dateTimeLike = fc
  .record({
    year: fc.oneof(fc.integer({ min: 2019, max: 2025 }), fc.integer({ min: 0, max: 9999 })),
    month: fc.oneof(
      fc.integer({ min: 1, max: 12 }).map((n) => String(n).padStart(2, "0")),
      twoDigits,
    ),
    day: fc.oneof(
      fc.integer({ min: 1, max: 31 }).map((n) => String(n).padStart(2, "0")),
      twoDigits,
    ),
    hour: fc.oneof(
      fc.integer({ min: 0, max: 24 }).map((n) => String(n).padStart(2, "0")),
      twoDigits,
    ),
    minute: twoDigits,
    second: twoDigits,
    fraction: fc.oneof(fc.constant(""), fc.stringMatching(/^\.\d{0,11}$/)),
    zone: fc.oneof(
      fc.constantFrom(
        "",
        "Z",
        "z",
        "ZZ",
        "+00:00",
        "-00:00",
        "+0000",
        "+14:00",
        "-12:30",
        "+24:00",
        "+23:60",
      ),
      fc
        .tuple(fc.constantFrom("+", "-"), twoDigits, fc.constantFrom(":", ""), twoDigits)
        .map((p) => p.join("")),
    ),
  })
  .map(
    (t) =>
      `${String(t.year).padStart(4, "0")}-${t.month}-${t.day}T${t.hour}:${t.minute}:${t.second}${t.fraction}${t.zone}`,
  );
