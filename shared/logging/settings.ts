import { type LogLevel, loadLogLevel } from "#shared/config/index.ts";

/**
 * What the loggers of this process follow: the level (LOG_LEVEL, read through shared/config) and where
 * lines go — JSON for CloudWatch on Lambda, readable lines in a terminal. Read from the environment at the
 * first line; `configureLogging` sets them again (tests, and a process that changes its environment).
 */

export type LogOutput = "json" | "terminal";

export interface LogSettings {
  level: LogLevel;
  output: LogOutput;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

let current: LogSettings | undefined;
const listeners = new Set<(settings: LogSettings) => void>();

/**
 * JSON on Lambda (AWS_LAMBDA_FUNCTION_NAME set), except under serverless offline (IS_OFFLINE), whose
 * output a person reads in a terminal.
 */
export function outputFor(env: Record<string, string | undefined>): LogOutput {
  return env.AWS_LAMBDA_FUNCTION_NAME && !env.IS_OFFLINE ? "json" : "terminal";
}

/**
 * Sets the level and the output from `env` (default the process's). An invalid LOG_LEVEL is refused with
 * a ConfigError naming the variable and the values allowed, as loadConfig refuses it.
 */
export function configureLogging(
  options: { env?: Record<string, string | undefined>; level?: LogLevel; output?: LogOutput } = {},
): LogSettings {
  const env = options.env ?? process.env;
  current = { level: options.level ?? loadLogLevel(env), output: options.output ?? outputFor(env) };
  for (const listener of listeners) listener(current);
  return current;
}

export function logSettings(): LogSettings {
  return current ?? configureLogging();
}

/** Whether a line of `level` is written at the configured level. */
export function isLevelEnabled(level: LogLevel): boolean {
  return RANK[level] >= RANK[logSettings().level];
}

/** Calls `listener` whenever the settings change (the Lambda logger follows the level this way). */
export function onLogSettings(listener: (settings: LogSettings) => void): void {
  listeners.add(listener);
}
