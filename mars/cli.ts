import { pathToFileURL } from "node:url";
import { helpText, readCliArgs } from "./cli-args.ts";
import { MarsAuthError, MarsError, MarsOptionsError } from "./errors.ts";
import { flagName, LEGACY_ENV, legacyEnvOptions, parseMarsOptions } from "./options.ts";
import { type MarsIo, type MarsSummary, runMars } from "./run.ts";

/**
 * `npm run mars -- [options]`: the courier simulator on the command line. Exit codes: 0 when every event
 * sent was answered by the server (acknowledged or rejected), 1 when the run failed (authentication
 * refused, connection given up), 2 for invalid options.
 */

export interface CliIo extends MarsIo {
  env: Record<string, string | undefined>;
  stdout: { write(text: string): unknown };
}

/** Runs the command line; returns the exit code (the caller sets it). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let summary: MarsSummary;
  try {
    const args = readCliArgs(argv, io.env);
    if (args.help) {
      io.stdout.write(`${helpText()}\n`);
      return 0;
    }
    const fromArgs = args.options;
    const legacy = legacyEnvOptions(io.env);
    const raw = { ...legacy, ...fromArgs };
    const sourceOf = (key: string) =>
      key in fromArgs || !(key in legacy) ? flagName(key) : LEGACY_ENV[key as keyof typeof LEGACY_ENV];
    const options = parseMarsOptions(raw, Date.now(), sourceOf);
    summary = await runMars(options, io);
  } catch (error) {
    if (error instanceof MarsOptionsError) {
      io.stderr.write(`Mars: ${error.message}\nRun with --help for the options.\n`);
      return 2;
    }
    if (error instanceof MarsError) {
      io.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  io.stderr.write(`${summary.line}\n`);
  if (summary.error) {
    const message = summary.error.message.startsWith("Mars:")
      ? summary.error.message
      : `Mars: ${summary.error.message}`;
    io.stderr.write(`${message}\n`);
    if (summary.error instanceof MarsAuthError)
      io.stderr.write("Mars: authentication failed; not retrying.\n");
  }
  // Stopped with Ctrl-C: the conventional code of a run ended by SIGINT.
  if (io.signal?.aborted) return 130;
  return summary.exitCode;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const controller = new AbortController();
  // Ctrl-C once: stop generating, wait briefly for answers, print the summary. Twice: leave at once.
  process.once("SIGINT", () => {
    controller.abort();
    process.once("SIGINT", () => process.exit(130));
  });
  main(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error("Mars crashed:", error);
      process.exitCode = 1;
    },
  );
}
