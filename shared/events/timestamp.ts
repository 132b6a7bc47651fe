/**
 * ISO-8601 date-times as the contract accepts them: `YYYY-MM-DDTHH:MM:SS`, optional fraction of 1-9 digits,
 * then `Z`, an offset (`+02:00`, `+0200`) or nothing. No zone means UTC: the original v1 clients sent naive
 * UTC times, and reading them as the server's local time would shift every event by the server's offset.
 */
export const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `Date.UTC` maps years 0-99 to 1900-1999; shifting by one 400-year Gregorian cycle avoids that. */
const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Milliseconds since the Unix epoch (UTC) of an ISO-8601 date-time, or `NaN` when the text does not match
 * {@link TIMESTAMP_PATTERN} or names an impossible date or time (2023-02-29, 24:00:00, offset +25:00).
 * Fractions below a millisecond are truncated.
 */
export function parseTimestampMs(text: string): number {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (m === null) return Number.NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
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
      ? Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - GREGORIAN_CYCLE_MS
      : Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return local - offsetMinutes * 60_000;
}

/** The UTC ISO form with milliseconds (`2024-05-01T10:30:00.000Z`) of an ISO-8601 date-time, or `undefined`. */
export function normaliseTimestamp(text: string): string | undefined {
  const ms = parseTimestampMs(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
