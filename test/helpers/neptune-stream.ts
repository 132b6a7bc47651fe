import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * A stream for bronze tests: the v2 and v1 fixtures, with event times spread over three consecutive days
 * (line i moves by i mod 3 days) so batches span partitions, plus records bronze must reject.
 */

const FIXTURES = path.resolve(import.meta.dirname, "../../events/fixtures");
const DAY_MS = 86_400_000;

function shift(text: string | undefined, days: number): string | undefined {
  return text === undefined ? undefined : new Date(Date.parse(text) + days * DAY_MS).toISOString();
}

export function spreadLines(): string[] {
  const lines = ["athens-seed42-v2.ndjson", "athens-seed42-v1.ndjson"].flatMap((name) =>
    readFileSync(path.join(FIXTURES, name), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== ""),
  );
  return lines.map((line, i) => {
    const event = JSON.parse(line) as Record<string, string | undefined>;
    const days = i % 3;
    for (const key of ["occurred_at", "promised_at", "timestamp"]) {
      if (event[key] !== undefined) event[key] = shift(event[key], days);
    }
    return JSON.stringify(event);
  });
}

/** Event id of a stream line: v2 carries it; v1 lines get theirs from the record header. */
export const lineEventTime = (line: string) => {
  const event = JSON.parse(line) as { occurred_at?: string; timestamp?: string };
  return Date.parse(event.occurred_at ?? event.timestamp!);
};
