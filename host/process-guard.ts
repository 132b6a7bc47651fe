import { logger } from "#shared/logging/index.ts";

/**
 * The last line of defence of a long-running process: an exception or a rejected promise that escaped every
 * handler is logged, counted and survived, instead of ending the platform and every connection with it.
 * Each handler catches its own errors; reaching this guard is a bug to report, so each line says so.
 */

export interface ProcessGuard {
  /** Errors caught so far. */
  readonly caught: number;
  uninstall(): void;
}

export function installProcessGuard(
  report: (line: string) => void = (line) => logger("host").error(line),
): ProcessGuard {
  let caught = 0;
  const describe = (error: unknown) =>
    error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  const onException = (error: unknown) => {
    caught += 1;
    report(`uncaught exception #${caught} (the platform goes on; please report it): ${describe(error)}`);
  };
  const onRejection = (reason: unknown) => {
    caught += 1;
    report(`unhandled rejection #${caught} (the platform goes on; please report it): ${describe(reason)}`);
  };
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return {
    get caught() {
      return caught;
    },
    uninstall() {
      process.off("uncaughtException", onException);
      process.off("unhandledRejection", onRejection);
    },
  };
}
