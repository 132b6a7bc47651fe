import { parseArgs } from "node:util";
import { CITIES } from "./cities/index.ts";
import { MarsOptionsError } from "./errors.ts";
import type { RawOptions } from "./options.ts";

/**
 * Mars's command-line flags, read with node:util `parseArgs` like the other command-line tools. Each
 * flag can also come from a `MARS_<FLAG>` variable (`MARS_BATCH_SIZE`); a flag given on the command line
 * wins. Values stay text: `parseMarsOptions` checks them and names every wrong one.
 */

interface FlagSpec {
  /** The option's key in RawOptions. */
  key: keyof RawOptions;
  type: "string" | "boolean";
  describe: string;
}

const FLAGS: FlagSpec[] = [
  {
    key: "sessions",
    type: "string",
    describe: "orders to simulate, one session each, then exit [100] (TOTAL_SESSIONS)",
  },
  { key: "couriers", type: "string", describe: "couriers in the fleet [about one per 15 sessions]" },
  { key: "city", type: "string", describe: `city to simulate: ${Object.keys(CITIES).join(", ")} [athens]` },
  { key: "seed", type: "string", describe: "seed of the simulation [random, printed at the end]" },
  { key: "speed", type: "string", describe: 'simulated seconds per real second, or "max" [1]' },
  {
    key: "start",
    type: "string",
    describe: "ISO time the simulated day starts [now; now - span when speed > 1]",
  },
  { key: "hours", type: "string", describe: "length of the order window in simulated hours [24]" },
  {
    key: "updateInterval",
    type: "string",
    describe: "seconds of simulated time between location pings [5] (UPDATE_INTERVAL)",
  },
  {
    key: "protocol",
    type: "string",
    describe: "v1 (original 12-field messages) or v2 (events in batches) [v2]",
  },
  { key: "batchSize", type: "string", describe: "v2 events per frame, frames kept under 32 KB [100]" },
  {
    key: "rate",
    type: "string",
    describe: "target send rate in events per second (the simulation runs ahead as needed)",
  },
  { key: "out", type: "string", describe: "also write the stream to this NDJSON file, one event per line" },
  { key: "send", type: "boolean", describe: "send over the WebSocket; --no-send only writes --out [true]" },
  { key: "url", type: "string", describe: "Venus WebSocket URL [ws://localhost:8000/ws] (WEBSOCKET_URL)" },
  { key: "apiKey", type: "string", describe: "API key [mars-secret-key] (API_KEY)" },
  { key: "duplicates", type: "string", describe: "chaos: fraction of events sent twice [0]" },
  { key: "reorder", type: "string", describe: "chaos: fraction of events sent late, out of order [0]" },
  {
    key: "malformed",
    type: "string",
    describe: "chaos: fraction of frames/events that are invalid, at most 0.9 [0]",
  },
  { key: "maxReconnects", type: "string", describe: "reconnect attempts in a row before giving up [10]" },
  { key: "window", type: "string", describe: "frames awaiting an answer at most [v1: 256, v2: 16]" },
  { key: "cancelRate", type: "string", describe: "share of orders cancelled before pickup [0.03]" },
  { key: "failRate", type: "string", describe: "share of deliveries failing at the door [0.02]" },
  {
    key: "gpsNoise",
    type: "boolean",
    describe: "add GPS error to positions; --no-gps-noise for exact tracks [true]",
  },
  { key: "progress", type: "string", describe: "progress display: auto, tty, plain or off [auto]" },
];

const EPILOG = `Every option can also be set as MARS_<OPTION> (MARS_SESSIONS, MARS_BATCH_SIZE, ...). The original
variables keep working: TOTAL_SESSIONS, UPDATE_INTERVAL, WEBSOCKET_URL, API_KEY.
Without --seed a random seed is drawn and printed; --seed and --start together repeat a run exactly.
See docs/mars.md.`;

const HELP_WIDTH = 110;

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string) => name.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Flags by every name they answer to: kebab-case as documented, camelCase as well. */
const BY_NAME = new Map<string, FlagSpec>(
  FLAGS.flatMap((flag) => [[kebab(flag.key), flag] as const, [flag.key, flag] as const]),
);

/** The `--help` text: usage, one line per flag with its type on the right, then the environment. */
export function helpText(): string {
  const rows: [string, string, string][] = [
    ...FLAGS.map((flag): [string, string, string] => [
      `    --${kebab(flag.key)}`,
      flag.describe,
      `[${flag.type}]`,
    ]),
    ["-h, --help", "Show help", "[boolean]"],
  ];
  const first = Math.max(...rows.map(([names]) => names.length)) + 2;
  const lines = rows.map(([names, describe, type]) => {
    const left = `  ${names.padEnd(first)}${describe}`;
    return `${left.padEnd(HELP_WIDTH - type.length)}${type}`;
  });
  return [
    "npm run mars -- [options]",
    "",
    "Mars simulates couriers delivering orders and streams their events to Venus.",
    "",
    "Options:",
    ...lines,
    "",
    EPILOG,
  ].join("\n");
}

export type CliArgs = { help: true } | { help: false; options: RawOptions };

/**
 * Reads the flags of `argv`, then the `MARS_*` variables of `env` for the flags not given. Throws
 * MarsOptionsError naming every unknown flag, argument or `MARS_*` variable.
 */
export function readCliArgs(argv: string[], env: Record<string, string | undefined>): CliArgs {
  const { tokens } = parseArgs({
    args: withEmptyValues(argv),
    options: {
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries([...BY_NAME].map(([name, flag]) => [name, { type: flag.type }])),
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options: RawOptions = {};
  const unknown: string[] = [];
  let help = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      unknown.push(token.value);
      continue;
    }
    const next = tokens[i + 1];
    const nextValue = next?.kind === "positional" && token.inlineValue === undefined ? next.value : undefined;
    if (token.name === "help") {
      help = true;
      continue;
    }
    const negated = token.name.startsWith("no-") ? BY_NAME.get(token.name.slice(3)) : undefined;
    const flag = BY_NAME.get(token.name) ?? (negated?.type === "boolean" ? negated : undefined);
    if (!flag) {
      unknown.push(token.name);
      // An unknown flag takes the word after it as its value, so that word is not reported as well.
      if (nextValue !== undefined) i++;
      continue;
    }
    if (flag === negated) {
      if (token.inlineValue !== undefined) unknown.push(token.name);
      else options[flag.key] = false;
    } else if (flag.type === "string") {
      options[flag.key] = token.value ?? "";
    } else if (token.value !== undefined) {
      options[flag.key] = token.value;
    } else if (nextValue === "true" || nextValue === "false") {
      options[flag.key] = nextValue;
      i++;
    } else {
      options[flag.key] = true;
    }
  }
  if (help) return { help: true };
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith("MARS_") || value === undefined) continue;
    const name = camel(variable.slice("MARS_".length).toLowerCase());
    const flag = BY_NAME.get(name);
    if (!flag) unknown.push(name);
    else if (!(flag.key in options)) options[flag.key] = value;
  }
  if (unknown.length > 0) {
    throw new MarsOptionsError(
      `${unknown.length === 1 ? "Unknown argument" : "Unknown arguments"}: ${unknown.join(", ")}`,
    );
  }
  return { help: false, options };
}

/**
 * `--sessions --couriers 3`: a text flag directly followed by another flag was given no value (`""`,
 * which the option checks then name), rather than taking the next flag as its value.
 */
function withEmptyValues(argv: string[]): string[] {
  return argv.flatMap((arg, i) => {
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    const takesText = name !== undefined && BY_NAME.get(name)?.type === "string";
    return takesText && (next === undefined || (next.startsWith("-") && Number.isNaN(Number(next))))
      ? [`${arg}=`]
      : [arg];
  });
}
