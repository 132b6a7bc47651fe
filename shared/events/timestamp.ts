/**
 * ISO-8601 date-times as the contract accepts them: `YYYY-MM-DDTHH:MM:SS`, optional fraction of 1-9 digits,
 * then `Z`, an offset (`+02:00`, `+0200`) or nothing. No zone means UTC: the original v1 clients sent naive
 * UTC times, and reading them as the server's local time would shift every event by the server's offset.
 */
export const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MS_PER_DAY = 86_400_000;

/** Days from 1970-01-01 to 0000-03-01 in the proleptic Gregorian calendar, as `Date.UTC` counts. */
const DAYS_TO_YEAR_0_MARCH = -719_468;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Milliseconds since the Unix epoch (UTC) of an ISO-8601 date-time, or `NaN` when the text does not match
 * {@link TIMESTAMP_PATTERN} or names an impossible date or time (2023-02-29, 24:00:00, offset +25:00).
 * Fractions below a millisecond are truncated.
 */
export function parseTimestampMs(text: string): number {
  if (text === lastMatched) return lastMatchedMs;
  const ms = parseUtcShape(text);
  return ms === undefined ? parsePattern(text) : ms;
}

/**
 * The last text {@link matchesTimestampPattern} read in a common shape, and its time: the validators match
 * a timestamp, then read it, and this spares them the second reading. A pure function's memo, one entry.
 */
let lastMatched: string | undefined;
let lastMatchedMs = Number.NaN;

/** Exactly `TIMESTAMP_PATTERN.test(text)`, without the regex for the common shapes. */
export function matchesTimestampPattern(text: string): boolean {
  const ms = parseUtcShape(text);
  if (ms === undefined) return TIMESTAMP_PATTERN.test(text);
  lastMatched = text;
  lastMatchedMs = ms;
  return true;
}

/** The general case: {@link TIMESTAMP_PATTERN}, whatever the zone. */
function parsePattern(text: string): number {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (m === null) return Number.NaN;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return Number.NaN;
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  return utcMs(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    millis,
    offsetMinutes,
  );
}

/** The value of the two ASCII digits at `index` and `index + 1`, or -1 when either is not a digit. */
function twoDigitsAt(text: string, index: number): number {
  const tens = text.charCodeAt(index) - 48;
  const units = text.charCodeAt(index + 1) - 48;
  // `>>> 0` turns a negative difference into a large number, so one comparison tests for 0-9.
  return tens >>> 0 > 9 || units >>> 0 > 9 ? -1 : tens * 10 + units;
}

/**
 * The shapes devices and the simulator send, read without the regex: `YYYY-MM-DDTHH:MM:SS`, an optional
 * fraction of 1-9 digits, then `Z` or nothing. `undefined` for any other text (offsets, malformed input),
 * which {@link parsePattern} then reads, so the result is always the one the pattern gives.
 */
function parseUtcShape(text: string): number | undefined {
  const length = text.length;
  if (
    length < 19 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 || // -
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 // :
  ) {
    return undefined;
  }
  const century = twoDigitsAt(text, 0);
  const yearOfCentury = twoDigitsAt(text, 2);
  const month = twoDigitsAt(text, 5);
  const day = twoDigitsAt(text, 8);
  const hour = twoDigitsAt(text, 11);
  const minute = twoDigitsAt(text, 14);
  const second = twoDigitsAt(text, 17);
  if ((century | yearOfCentury | month | day | hour | minute | second) < 0) return undefined;
  let index = 19;
  let millis = 0;
  if (index < length && text.charCodeAt(index) === 46) {
    // A fraction (after "."): its first three digits are the milliseconds, the rest is truncated.
    const start = ++index;
    for (; index < length; index++) {
      const digit = text.charCodeAt(index) - 48;
      if (digit >>> 0 > 9) break;
      if (index - start < 3) millis = millis * 10 + digit;
    }
    const digits = index - start;
    if (digits < 1 || digits > 9) return undefined;
    if (digits < 3) millis *= digits === 1 ? 100 : 10;
  }
  if (index < length && text.charCodeAt(index) === 90) index++; // Z
  if (index !== length) return undefined;
  return utcMs(century * 100 + yearOfCentury, month, day, hour, minute, second, millis, 0);
}

/** The instant of a date and time read at a zone `offsetMinutes` east of UTC, or `NaN` if it does not exist. */
function utcMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetMinutes: number,
): number {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day > monthDays) return Number.NaN;
  const local =
    daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  return local - offsetMinutes * 60_000;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (years 0-9999), the day count `Date.UTC` uses, in
 * integer arithmetic: `Date.UTC` is a call into the runtime and costs a third of a parse. Years start on
 * 1 March, so the leap day ends its year; a 400-year era has 146 097 days. Unlike `Date.UTC`, years 0-99
 * need no shifting.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const marchYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(marchYear / 400);
  const yearOfEra = marchYear - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra + DAYS_TO_YEAR_0_MARCH;
}

/** The UTC ISO form with milliseconds (`2024-05-01T10:30:00.000Z`) of an ISO-8601 date-time, or `undefined`. */
export function normaliseTimestamp(text: string): string | undefined {
  const ms = parseTimestampMs(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The minute {@link formatTimestampMs} formatted last, and its `YYYY-MM-DDTHH:MM:` prefix. */
let formattedMinute = Number.NaN;
let formattedPrefix = "";

/**
 * Exactly `new Date(ms).toISOString()` (`2024-05-01T10:30:15.250Z`), ten times faster for times that share
 * their minute with the previous call, as a stream of events mostly does: the minute's prefix is formatted
 * once by `toISOString` (which also covers years outside 0-9999), seconds and milliseconds are appended.
 * Fractions of a millisecond are cut as `Date` cuts them; a RangeError for what `toISOString` refuses (NaN,
 * beyond ±8.64e15).
 */
export function formatTimestampMs(ms: number): string {
  if (!Number.isInteger(ms) || Math.abs(ms) > 8.64e15) return new Date(ms).toISOString();
  const minute = Math.floor(ms / 60_000);
  if (minute !== formattedMinute) {
    formattedPrefix = new Date(minute * 60_000).toISOString().slice(0, -7);
    // Set after the call, so a refused time never leaves its minute cached.
    formattedMinute = minute;
  }
  const inMinute = ms - minute * 60_000;
  const seconds = Math.floor(inMinute / 1_000);
  const millis = inMinute - seconds * 1_000;
  return `${formattedPrefix}${seconds < 10 ? "0" : ""}${seconds}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}
