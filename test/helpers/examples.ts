import { readFileSync } from "node:fs";

/** The raw text of an example in events/examples (what docs/events.md shows users). */
export function exampleText(name: string): string {
  return readFileSync(new URL(`../../events/examples/${name}.json`, import.meta.url), "utf8");
}

/** An example of events/examples, parsed; a fresh copy per call so tests can change it. */
export function example<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(exampleText(name)) as T;
}
