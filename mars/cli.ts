import { pathToFileURL } from "node:url";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { CITIES } from "./cities/index.ts";
import { MarsAuthError, MarsError, MarsOptionsError } from "./errors.ts";
import { flagName, LEGACY_ENV, legacyEnvOptions, parseMarsOptions, type RawOptions } from "./options.ts";
import { type MarsIo, type MarsSummary, runMars } from "./run.ts";

/**
 * `npm run mars -- [options]`: the courier simulator on the command line. Exit codes: 0 when every event
 * sent was answered by the server (acknowledged or rejected), 1 when the run failed (authentication
 * refused, connection given up), 2 for invalid options.
 */

const EPILOG = `Every option can also be set as MARS_<OPTION> (MARS_SESSIONS, MARS_BATCH_SIZE, ...). The original
variables keep working: TOTAL_SESSIONS, UPDATE_INTERVAL, WEBSOCKET_URL, API_KEY.
Without --seed a random seed is drawn and printed; --seed and --start together repeat a run exactly.
See docs/mars.md.`;

function parser(argv: string[]) {
  return yargs(argv)
    .scriptName("npm run mars --")
    .usage("$0 [options]\n\nMars simulates couriers delivering orders and streams their events to Venus.")
    .env("MARS")
    .options({
      sessions: {
        type: "string",
        describe: "orders to simulate, one session each, then exit [100] (TOTAL_SESSIONS)",
      },
      couriers: { type: "string", describe: "couriers in the fleet [about one per 15 sessions]" },
      city: { type: "string", describe: `city to simulate: ${Object.keys(CITIES).join(", ")} [athens]` },
      seed: { type: "string", describe: "seed of the simulation [random, printed at the end]" },
      speed: { type: "string", describe: 'simulated seconds per real second, or "max" [1]' },
      start: {
        type: "string",
        describe: "ISO time the simulated day starts [now; now - span when speed > 1]",
      },
      hours: { type: "string", describe: "length of the order window in simulated hours [24]" },
      "update-interval": {
        type: "string",
        describe: "seconds of simulated time between location pings [5] (UPDATE_INTERVAL)",
      },
      protocol: {
        type: "string",
        describe: "v1 (original 12-field messages) or v2 (events in batches) [v2]",
      },
      "batch-size": { type: "string", describe: "v2 events per frame, frames kept under 32 KB [100]" },
      rate: {
        type: "string",
        describe: "target send rate in events per second (the simulation runs ahead as needed)",
      },
      out: { type: "string", describe: "also write the stream to this NDJSON file, one event per line" },
      send: { type: "boolean", describe: "send over the WebSocket; --no-send only writes --out [true]" },
      url: { type: "string", describe: "Venus WebSocket URL [ws://localhost:8000/ws] (WEBSOCKET_URL)" },
      "api-key": { type: "string", describe: "API key [mars-secret-key] (API_KEY)" },
      duplicates: { type: "string", describe: "chaos: fraction of events sent twice [0]" },
      reorder: { type: "string", describe: "chaos: fraction of events sent late, out of order [0]" },
      malformed: {
        type: "string",
        describe: "chaos: fraction of frames/events that are invalid, at most 0.9 [0]",
      },
      "max-reconnects": { type: "string", describe: "reconnect attempts in a row before giving up [10]" },
      window: { type: "string", describe: "frames awaiting an answer at most [v1: 256, v2: 16]" },
      "cancel-rate": { type: "string", describe: "share of orders cancelled before pickup [0.03]" },
      "fail-rate": { type: "string", describe: "share of deliveries failing at the door [0.02]" },
      "gps-noise": {
        type: "boolean",
        describe: "add GPS error to positions; --no-gps-noise for exact tracks [true]",
      },
      progress: { type: "string", describe: "progress display: auto, tty, plain or off [auto]" },
    })
    .strict()
    .version(false)
    .help()
    .alias("help", "h")
    .epilog(EPILOG)
    .wrap(110)
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new MarsOptionsError(message);
    });
}

const OPTION_KEYS = [
  "sessions",
  "couriers",
  "city",
  "seed",
  "speed",
  "start",
  "hours",
  "updateInterval",
  "protocol",
  "batchSize",
  "rate",
  "out",
  "send",
  "url",
  "apiKey",
  "duplicates",
  "reorder",
  "malformed",
  "maxReconnects",
  "window",
  "cancelRate",
  "failRate",
  "gpsNoise",
  "progress",
] as const;

export interface CliIo extends MarsIo {
  env: Record<string, string | undefined>;
  stdout: { write(text: string): unknown };
}

/** Runs the command line; returns the exit code (the caller sets it). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let summary: MarsSummary;
  try {
    let helpShown = false;
    const args = await parser(argv)
      .showHelpOnFail(false)
      .parseAsync(argv, {}, (_error, _argv, output) => {
        if (output) {
          helpShown = true;
          io.stdout.write(`${output}\n`);
        }
      });
    if (helpShown) return 0;
    const fromArgs: RawOptions = {};
    for (const key of OPTION_KEYS) {
      const value = (args as Record<string, unknown>)[key];
      if (typeof value === "string" || typeof value === "boolean") fromArgs[key] = value;
    }
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
  main(hideBin(process.argv), {
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
