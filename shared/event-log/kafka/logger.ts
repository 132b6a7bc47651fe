import { logLevel as KafkaLogLevel, type LogEntry, type logCreator } from "kafkajs";
import type { LogLevel } from "#shared/config/index.ts";
import { logger } from "#shared/logging/index.ts";

/** How much of kafkajs's own logging to let through. */
export type KafkaLogLevelName = "nothing" | "error" | "warn" | "info" | "debug";

export interface KafkaLogLine {
  level: Exclude<KafkaLogLevelName, "nothing">;
  /** kafkajs's component: Producer, Consumer, Connection, BrokerPool, ... */
  namespace: string;
  message: string;
  extra: Record<string, unknown>;
}

export type KafkaLogSink = (line: KafkaLogLine) => void;

const LEVELS: Record<KafkaLogLevelName, KafkaLogLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

const NAMES = new Map<KafkaLogLevel, KafkaLogLine["level"]>([
  [KafkaLogLevel.ERROR, "error"],
  [KafkaLogLevel.WARN, "warn"],
  [KafkaLogLevel.INFO, "info"],
  [KafkaLogLevel.DEBUG, "debug"],
]);

const kafkajsLog = logger("kafkajs");

/**
 * kafkajs's lines through the platform's logger (component `kafkajs`, its namespace first in the message):
 * JSON on Lambda, `kafkajs: Producer: message {"broker":"..."}` in a terminal.
 */
export const loggerSink: KafkaLogSink = (line) => {
  const extra = Object.keys(line.extra).length > 0 ? line.extra : undefined;
  kafkajsLog[line.level](`${line.namespace}: ${line.message}`, extra);
};

/**
 * How much of kafkajs to let through at a LOG_LEVEL: all of it at debug; otherwise its errors only, since
 * its warnings and information are about connections it retries and groups it rejoins by itself.
 */
export function kafkaLogLevelFor(level: LogLevel): KafkaLogLevelName {
  return level === "debug" ? "debug" : "error";
}

/**
 * kafkajs logs every error response and every refused connection at ERROR, although it retries them (and
 * so does the event log, which reports a final failure as an EventLogError to its caller). Those lines are
 * demoted to WARN so that a broker restart does not flood the output at the default level.
 */
function isRetriedNoise(entry: LogEntry): boolean {
  if (entry.namespace === "Connection" || entry.namespace === "BrokerPool") return true;
  const message = String(entry.log.message ?? "");
  return (
    message.startsWith("Failed to send messages") ||
    message.startsWith("Connection error") ||
    message.startsWith("Response ")
  );
}

/** A kafkajs `logCreator` that filters at `level` (default error) and hands lines to `sink`. */
export function createKafkaLogCreator(
  level: KafkaLogLevelName = "error",
  sink: KafkaLogSink = loggerSink,
): { logLevel: KafkaLogLevel; logCreator: logCreator } {
  const threshold = LEVELS[level];
  const logCreator: logCreator = () => (entry: LogEntry) => {
    let entryLevel = entry.level;
    if (entryLevel === KafkaLogLevel.ERROR && isRetriedNoise(entry)) entryLevel = KafkaLogLevel.WARN;
    if (threshold === KafkaLogLevel.NOTHING || entryLevel > threshold) return;
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry.log;
    sink({
      level: NAMES.get(entryLevel) ?? "error",
      namespace: entry.namespace || "kafkajs",
      message: String(message),
      extra,
    });
  };
  // kafkajs filters by the same threshold before building an entry (demotion only lowers a level).
  return { logLevel: threshold, logCreator };
}
