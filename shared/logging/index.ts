/**
 * Logging for every part of PacketPulse: `logger("venus").warn(...)`. LOG_LEVEL (debug, info, warn, error;
 * default info) applies to every component and to kafkajs. On Lambda, one JSON object per line with the
 * request id and cold start (`lambdaLogging()` on each handler); in a terminal, `<component>: <message>`.
 * The progress lines and results of the command-line tools are not log lines: they stay on standard output.
 */
export { lambdaLogging, SERVICE_NAME } from "./lambda.ts";
export { logger, loggerOr } from "./logger.ts";
export {
  configureLogging,
  isLevelEnabled,
  type LogOutput,
  type LogSettings,
  logSettings,
  outputFor,
} from "./settings.ts";
export type { LogAttributes, Logger, LogLevel } from "./types.ts";
