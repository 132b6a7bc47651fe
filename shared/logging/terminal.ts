import type { LogLevel } from "#shared/config/index.ts";
import type { LogAttributes } from "./types.ts";

/**
 * The readable line of a terminal: `<component>: <message>`, as the platform's lines have always read
 * (`venus: authentication failed from 10.1.2.3: wrong API key`), with extra attributes as compact JSON at
 * the end. Debug and info lines go to standard output, warnings and errors to standard error.
 */
export function terminalLine(label: string, message: string, attributes?: LogAttributes): string {
  const extra = attributes && Object.keys(attributes).length > 0 ? ` ${attributesJson(attributes)}` : "";
  return `${label}: ${message}${extra}`;
}

export function writeTerminalLine(level: LogLevel, line: string): void {
  const stream = level === "warn" || level === "error" ? process.stderr : process.stdout;
  stream.write(`${line}\n`);
}

function attributesJson(attributes: LogAttributes): string {
  try {
    return JSON.stringify(attributes, (_key, value: unknown) => {
      if (typeof value === "bigint") return value.toString();
      if (value instanceof Error) return `${value.name}: ${value.message}`;
      return value;
    });
  } catch {
    return "[attributes not serialisable]";
  }
}
