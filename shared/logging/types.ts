import type { LogLevel } from "#shared/config/index.ts";

export type { LogLevel };

/** Extra fields of a line: keys of the JSON object on Lambda, compact JSON at the end of a terminal line. */
export type LogAttributes = Record<string, unknown>;

export interface Logger {
  /** The part of the platform that writes (`venus`, `jupiter`, `runtime`, ...): `component` in JSON. */
  readonly component: string;
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
  /** A logger for one part of this component: `uranus gold: ...` in a terminal, `scope` in JSON. */
  child(scope: string): Logger;
}
