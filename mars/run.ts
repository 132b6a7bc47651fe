import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { sleep } from "#shared/platform/sleep.ts";
import { CITIES } from "./cities/index.ts";
import { MarsClient } from "./client.ts";
import { defaultStartMs, RateLimiter, SimClock, type Speed } from "./clock.ts";
import { MarsError, MarsOptionsError } from "./errors.ts";
import { type OutboundFrame, V2Batcher, v1Frame } from "./frames.ts";
import { formatCount, type ProgressMode, ProgressReporter, type ProgressStream } from "./progress.ts";
import { runRandom, SIMULATION_DEFAULTS } from "./simulate.ts";
import { wireUnits } from "./stream.ts";
import type { Protocol, SimulatedEvent } from "./types.ts";

/**
 * A whole run of Mars: simulate, pace in real time (or at a target rate), apply chaos, write the stream to
 * a file and/or send it over the WebSocket, show progress, and sum it up. `runMars` is what the CLI calls;
 * `startMars` runs it in the background of another process (`npm start -- --simulate`).
 */

export interface MarsOptions {
  /** Orders (= sessions) to simulate before exiting. */
  sessions: number;
  couriers?: number;
  /** City id, see `cities/index.ts`. */
  city: string;
  /** Without a seed, a random one is drawn (and reported, so the run can be repeated). */
  seed?: string | number;
  speed: Speed;
  /** Start of the simulated order window, ms since the epoch; see `defaultStartMs`. */
  startMs?: number;
  /** Length of the order window, hours. */
  hours: number;
  updateIntervalS: number;
  protocol: Protocol;
  /** v2 events per batch frame (frames are also kept under 32 KB). */
  batchSize: number;
  /** Target send rate, events per second. */
  rate?: number;
  /** Write every unit to this NDJSON file. */
  out?: string;
  /** Send over the WebSocket (false: only write `out`). */
  send: boolean;
  url: string;
  apiKey: string;
  duplicates: number;
  reorder: number;
  malformed: number;
  maxReconnects: number;
  /** Frames awaiting an answer at most. */
  window?: number;
  cancelRate: number;
  failRate: number;
  gpsNoise: boolean;
  progress: ProgressMode | "auto";
  /** First reconnect delay (doubles each attempt). */
  backoffBaseMs?: number;
  /** Silence after which a connection with frames in flight is considered dead. */
  ackTimeoutMs?: number;
}

export const MARS_DEFAULTS = {
  sessions: 100,
  city: "athens",
  speed: 1,
  hours: SIMULATION_DEFAULTS.hours,
  updateIntervalS: SIMULATION_DEFAULTS.updateIntervalS,
  protocol: "v2",
  batchSize: 100,
  send: true,
  url: "ws://localhost:8000/ws",
  apiKey: "mars-secret-key",
  duplicates: 0,
  reorder: 0,
  malformed: 0,
  maxReconnects: 10,
  cancelRate: SIMULATION_DEFAULTS.cancelRate,
  failRate: SIMULATION_DEFAULTS.failRate,
  gpsNoise: true,
  progress: "auto",
} as const satisfies Omit<MarsOptions, "seed">;

export interface MarsIo {
  stderr: ProgressStream;
  signal?: AbortSignal;
}

export interface MarsSummary {
  exitCode: 0 | 1;
  seed: string;
  startMs: number;
  protocol: Protocol;
  sessionsStarted: number;
  sessionsDone: number;
  /** Units (v2 events or v1 messages, chaos included) sent or written. */
  unitsOut: number;
  acknowledged: number;
  rejected: number;
  reconnects: number;
  durationMs: number;
  /** Ended early on request (Ctrl-C, `stop()`). */
  stopped: boolean;
  /** The one-line summary printed at the end. */
  line: string;
  error?: Error;
}

/** Waits longer than this flush the partial v2 batch first, so events never linger in it. */
const FLUSH_BEFORE_WAIT_MS = 50;
/** Shorter waits are skipped and caught up in bursts (timers are not finer than a millisecond or so). */
const MIN_SLEEP_MS = 4;
/** How long a stopped run waits for answers to what it already sent. */
const STOP_DRAIN_MS = 5000;

export async function runMars(
  options: MarsOptions,
  io: MarsIo = { stderr: process.stderr },
): Promise<MarsSummary> {
  const city = CITIES[options.city];
  if (!city)
    throw new MarsOptionsError(`Unknown city "${options.city}"; known: ${Object.keys(CITIES).join(", ")}`);
  const seed = String(options.seed ?? Math.floor(Math.random() * 2 ** 31));
  const realStartMs = Date.now();
  const startMs = options.startMs ?? defaultStartMs(realStartMs, options.speed, options.hours * 3_600_000);
  const out = options.out === undefined ? undefined : await openOut(options.out);

  const counts = { sessionsStarted: 0, sessionsDone: 0, unitsOut: 0, lastAtMs: Number.NaN };
  const observe = (simulated: SimulatedEvent) => {
    const event = simulated.event;
    if (event.event_type === "session_started") counts.sessionsStarted++;
    else if (
      event.event_type === "status_changed" &&
      ["completed", "failed", "cancelled"].includes(event.status)
    ) {
      counts.sessionsDone++;
    }
  };
  const units = wireUnits(
    {
      seed,
      sessions: options.sessions,
      startMs,
      city,
      couriers: options.couriers,
      hours: options.hours,
      updateIntervalS: options.updateIntervalS,
      cancelRate: options.cancelRate,
      failRate: options.failRate,
      gpsNoise: options.gpsNoise,
      protocol: options.protocol,
      chaos: { duplicates: options.duplicates, reorder: options.reorder, malformed: options.malformed },
    },
    observe,
  );

  const mode = ProgressReporter.modeFor(options.progress, io.stderr);
  let client: MarsClient | undefined;
  const progress = new ProgressReporter(io.stderr, mode, () => ({
    sessionsActive: counts.sessionsStarted - counts.sessionsDone,
    sessionsDone: counts.sessionsDone,
    sessionsTotal: options.sessions,
    unitsOut: counts.unitsOut,
    sending: client !== undefined,
    acknowledged: client?.stats.acknowledged ?? 0,
    rejected: client?.stats.rejected ?? 0,
    reconnects: client?.stats.reconnects ?? 0,
    simulatedMs: counts.lastAtMs,
  }));
  if (options.send) {
    client = new MarsClient({
      url: options.url,
      apiKey: options.apiKey,
      protocol: options.protocol,
      maxReconnects: options.maxReconnects,
      window: options.window,
      backoffBaseMs: options.backoffBaseMs,
      ackTimeoutMs: options.ackTimeoutMs,
      onNotice: (message) => progress.notice(message),
    });
  }
  const runId = runRandom(seed, startMs).fork("run").uuid().slice(0, 8);
  const batcher = client && options.protocol === "v2" ? new V2Batcher(runId, options.batchSize) : undefined;
  const clock = new SimClock(startMs, options.speed, realStartMs);
  const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate);
  const sendFrames = async (frames: readonly OutboundFrame[]) => {
    for (const frame of frames) await client!.send(frame);
  };

  progress.start();
  let error: Error | undefined;
  // Stopping while the client is still trying to connect must not wait for its retries.
  const stopClient = () => {
    if (client && !client.connected) void client.close();
  };
  io.signal?.addEventListener("abort", stopClient, { once: true });
  try {
    await client?.start();
    let sinceYield = 0;
    for (const unit of units) {
      if (io.signal?.aborted) break;
      let due = clock.releaseAt(unit.atMs);
      if (limiter) due = Math.max(due, limiter.reserve(Date.now()));
      const wait = due - Date.now();
      if (wait >= MIN_SLEEP_MS) {
        if (batcher && wait > FLUSH_BEFORE_WAIT_MS) {
          const partial = batcher.flush();
          if (partial) await sendFrames([partial]);
        }
        if (!(await pause(wait, io.signal))) break;
      }
      if (out && !out.write(`${unit.text}\n`)) await once(out, "drain");
      if (client) await sendFrames(batcher ? batcher.add(unit) : [v1Frame(unit)]);
      counts.unitsOut++;
      counts.lastAtMs = unit.atMs;
      // A run at full speed never waits: let timers (progress) and sockets have a turn now and then.
      if (++sinceYield >= 1000) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
    const last = batcher?.flush();
    if (last) await sendFrames([last]);
    if (client && io.signal?.aborted) {
      // Stopped early: give what is in flight a moment to be answered, no more.
      await Promise.race([client.drain(), sleep(STOP_DRAIN_MS)]);
    } else {
      await client?.drain();
    }
  } catch (caught) {
    // After a stop, the client's refusal to go on is expected, not a failure.
    if (!io.signal?.aborted) error = caught instanceof Error ? caught : new MarsError(String(caught));
  } finally {
    io.signal?.removeEventListener("abort", stopClient);
    await client?.close();
    if (out) await closeOut(out);
  }
  const unanswered = client?.stats.unanswered ?? 0;
  if (!error && unanswered > 0) {
    error = new MarsError(`Mars: ${formatCount(unanswered)} events were never answered by ${options.url}`);
  }
  const durationMs = Date.now() - realStartMs;
  const summary: Omit<MarsSummary, "line"> = {
    exitCode: error ? 1 : 0,
    seed,
    startMs,
    protocol: options.protocol,
    sessionsStarted: counts.sessionsStarted,
    sessionsDone: counts.sessionsDone,
    unitsOut: counts.unitsOut,
    acknowledged: client?.stats.acknowledged ?? 0,
    rejected: client?.stats.rejected ?? 0,
    reconnects: client?.stats.reconnects ?? 0,
    durationMs,
    stopped: io.signal?.aborted ?? false,
    error,
  };
  const line = summaryLine(summary, options, client?.stats.lastRejection);
  progress.stop();
  return { ...summary, line };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}

async function openOut(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  try {
    await once(stream, "open");
  } catch (error) {
    throw new MarsOptionsError(`Cannot write --out file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return stream;
}

async function closeOut(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

export function summaryLine(
  summary: Omit<MarsSummary, "line">,
  options: Pick<MarsOptions, "send" | "out" | "sessions">,
  lastRejection?: string,
): string {
  const unitName = summary.protocol === "v1" ? "v1 messages" : "v2 events";
  const seconds = (summary.durationMs / 1000).toFixed(1);
  const rate = formatCount((summary.unitsOut * 1000) / Math.max(1, summary.durationMs));
  const parts = [
    `${formatCount(summary.sessionsDone)} of ${formatCount(options.sessions)} sessions`,
    `${formatCount(summary.unitsOut)} ${unitName} ${options.send ? "sent" : "generated"} (${rate}/s)`,
  ];
  if (options.send) {
    parts.push(
      `${formatCount(summary.acknowledged)} acknowledged`,
      `${formatCount(summary.rejected)} rejected${lastRejection && summary.rejected > 0 ? ` (last: ${lastRejection.slice(0, 160)})` : ""}`,
      `${formatCount(summary.reconnects)} reconnects`,
    );
  }
  if (options.out !== undefined) parts.push(`written to ${options.out}`);
  const verdict = summary.error ? "failed" : summary.stopped ? "stopped" : "done";
  const reproduce = `seed ${summary.seed}, start ${new Date(summary.startMs).toISOString()}`;
  return `Mars: ${verdict} in ${seconds} s: ${parts.join(", ")} (${reproduce})`;
}

/** Options for `startMars`: what `npm start -- --simulate` passes; everything else takes its default. */
export type StartMarsOptions = Partial<MarsOptions> & Pick<MarsOptions, "url" | "apiKey">;

/** Runs Mars in the background of another process, quietly; `stop` ends it early and waits for it. */
export function startMars(options: StartMarsOptions): { stop(): Promise<void>; done: Promise<MarsSummary> } {
  const controller = new AbortController();
  const done = runMars(
    { ...MARS_DEFAULTS, progress: "off", ...options },
    { stderr: process.stderr, signal: controller.signal },
  );
  return {
    done,
    async stop() {
      controller.abort();
      await done.catch(() => undefined);
    },
  };
}
