/**
 * The live progress of a run on stderr: a line redrawn in place on a terminal, a plain line every few
 * seconds otherwise (CI logs, docker logs), nothing when turned off.
 */

export type ProgressMode = "tty" | "plain" | "off";

export interface ProgressSnapshot {
  sessionsActive: number;
  sessionsDone: number;
  sessionsTotal: number;
  /** Units handed to the sink (sent, or written). */
  unitsOut: number;
  sending: boolean;
  acknowledged: number;
  rejected: number;
  reconnects: number;
  /** Event time of the last unit out, ms (NaN before the first). */
  simulatedMs: number;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const TTY_INTERVAL_MS = 250;
const PLAIN_INTERVAL_MS = 5000;

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

export function formatProgress(snapshot: ProgressSnapshot, unitsPerSecond: number): string {
  const parts = [
    `sessions ${formatCount(snapshot.sessionsActive)} active, ${formatCount(snapshot.sessionsDone)}/${formatCount(snapshot.sessionsTotal)} done`,
    `${formatCount(snapshot.unitsOut)} events (${formatCount(unitsPerSecond)}/s)`,
  ];
  if (snapshot.sending) {
    parts.push(
      `acked ${formatCount(snapshot.acknowledged)}`,
      `rejected ${formatCount(snapshot.rejected)}`,
      `reconnects ${formatCount(snapshot.reconnects)}`,
    );
  }
  if (Number.isFinite(snapshot.simulatedMs)) {
    parts.push(`sim ${new Date(snapshot.simulatedMs).toISOString().slice(0, 16).replace("T", " ")}Z`);
  }
  return `Mars: ${parts.join(" | ")}`;
}

export class ProgressReporter {
  readonly #stream: ProgressStream;
  readonly #mode: ProgressMode;
  readonly #read: () => ProgressSnapshot;
  #timer: NodeJS.Timeout | undefined;
  #lastUnits = 0;
  #lastAt = 0;
  #rate = 0;
  #lineShown = false;

  constructor(stream: ProgressStream, mode: ProgressMode, read: () => ProgressSnapshot) {
    this.#stream = stream;
    this.#mode = mode;
    this.#read = read;
  }

  /** `auto` resolves to a live line on a terminal and periodic lines elsewhere. */
  static modeFor(requested: ProgressMode | "auto", stream: ProgressStream): ProgressMode {
    if (requested !== "auto") return requested;
    return stream.isTTY ? "tty" : "plain";
  }

  start(): void {
    if (this.#mode === "off") return;
    this.#lastAt = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.#mode === "tty" ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Prints a message on its own line, keeping the live line below it. */
  notice(message: string): void {
    if (this.#mode === "off") return;
    this.#clear();
    this.#stream.write(`${message}\n`);
  }

  /** Stops updating and clears the live line (the caller prints the summary). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  #tick(): void {
    const snapshot = this.#read();
    const now = Date.now();
    const elapsed = Math.max(1, now - this.#lastAt);
    const instant = ((snapshot.unitsOut - this.#lastUnits) * 1000) / elapsed;
    // Smooth the rate a little so the line does not flicker.
    this.#rate = this.#lastUnits === 0 ? instant : 0.6 * instant + 0.4 * this.#rate;
    this.#lastUnits = snapshot.unitsOut;
    this.#lastAt = now;
    const line = formatProgress(snapshot, this.#rate);
    if (this.#mode === "tty") {
      const width = Math.max(20, (this.#stream.columns ?? 120) - 1);
      this.#stream.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.#lineShown = true;
    } else {
      this.#stream.write(`${line}\n`);
    }
  }

  #clear(): void {
    if (this.#mode === "tty" && this.#lineShown) {
      this.#stream.write("\r\x1b[2K");
      this.#lineShown = false;
    }
  }
}
