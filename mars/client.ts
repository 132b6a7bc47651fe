import type WebSocket from "ws";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { MarsAuthError, MarsError, MarsGaveUpError } from "./errors.ts";
import type { OutboundFrame } from "./frames.ts";
import { describeV2Rejection, parseReplyObject, readV1Reply, readV2Reply } from "./replies.ts";
import { closeConnection, isOpen, openConnection } from "./transport.ts";
import type { Protocol } from "./types.ts";

/**
 * The WebSocket client of both protocols (docs/events.md).
 *
 * v1: connect, send `{"type":"authentication","api_key":...}`, wait for `{"status":"authenticated"}` (an
 * `error` status is fatal), then pipeline 12-field frames, up to `window` awaiting a reply; replies come
 * in order, so they are matched first-in first-out.
 * v2: connect with the `x-api-key` header (HTTP 401/403 at the upgrade is fatal), send batch frames, match
 * each ack to its batch by `batch_id`. An error naming no batch answers the oldest frame that was not JSON.
 *
 * A frame stays pending until the server answers it. When the connection drops, every pending frame is
 * sent again on the next connection (Venus derives v1 event ids from content and v2 events carry their
 * own, so a frame stored twice counts once downstream). Reconnects back off exponentially with jitter and
 * give up after `maxReconnects` attempts in a row without progress.
 *
 * The socket itself is opened and closed in transport.ts; replies are read in replies.ts.
 */

export interface MarsClientOptions {
  url: string;
  apiKey: string;
  protocol: Protocol;
  /** Reconnect attempts in a row (without an answer in between) before giving up. */
  maxReconnects?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Frames awaiting an answer at most (v1 messages, or v2 batches). */
  window?: number;
  /** A connection with frames in flight and no answer for this long is considered dead. */
  ackTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Called with one-line notices (connection lost, reconnecting, unexpected replies). */
  onNotice?: (message: string) => void;
  /** Source of jitter in [0, 1); Math.random by default. */
  jitter?: () => number;
}

export interface ClientStats {
  framesSent: number;
  /** Frames sent again after a reconnect (included in framesSent). */
  framesResent: number;
  /** Units (events or v1 messages) the server stored. */
  acknowledged: number;
  /** Units the server answered with a rejection. */
  rejected: number;
  /** Reconnect attempts made. */
  reconnects: number;
  /**
   * Units abandoned after going unanswered on more than `maxReconnects` connections (a frame the server
   * never answers must not keep the run alive forever).
   */
  unanswered: number;
  /** The last rejection the server gave, as an example for the summary. */
  lastRejection?: string;
}

interface Pending {
  id: number;
  frame: OutboundFrame;
  sent: boolean;
  /** Sent on an earlier connection already. */
  resend: boolean;
  /** Connections it was sent on without being answered. */
  unanswered: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export const DEFAULT_WINDOW: Record<Protocol, number> = { v1: 256, v2: 16 };

export class MarsClient {
  readonly stats: ClientStats = {
    framesSent: 0,
    framesResent: 0,
    acknowledged: 0,
    rejected: 0,
    reconnects: 0,
    unanswered: 0,
  };
  readonly #options: Required<Omit<MarsClientOptions, "onNotice">> & Pick<MarsClientOptions, "onNotice">;
  readonly #pending = new Map<number, Pending>();
  readonly #byBatch = new Map<string, Pending>();
  #unsent: Pending[] = [];
  #socket: WebSocket | undefined;
  /** Why the current connection is failing, once known: reported when it closes. */
  #problem: string | undefined;
  #ready = false;
  #attempts = 0;
  #nextId = 0;
  #closing = false;
  #failure: Error | undefined;
  #roomWaiters: Waiter[] = [];
  #drainWaiters: Waiter[] = [];
  #readyWaiters: Waiter[] = [];
  #ackTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #retryTimers = new Set<NodeJS.Timeout>();

  constructor(options: MarsClientOptions) {
    this.#options = {
      maxReconnects: 10,
      backoffBaseMs: 500,
      backoffMaxMs: 15_000,
      window: DEFAULT_WINDOW[options.protocol],
      ackTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      jitter: Math.random,
      // An option passed as `undefined` keeps its default.
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
      url: options.url,
      apiKey: options.apiKey,
      protocol: options.protocol,
    };
  }

  /** Units sent and not yet answered. */
  get inFlight(): number {
    let units = 0;
    for (const pending of this.#pending.values()) units += pending.frame.units;
    return units;
  }

  get connected(): boolean {
    return this.#ready;
  }

  /** Connects; resolves once the first connection is ready (authenticated, for v1). */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
    this.#connect();
    return ready;
  }

  /** Queues a frame; resolves once it fits in the window (it is then sent as soon as connected). */
  async send(frame: OutboundFrame): Promise<void> {
    if (this.#closing) throw new MarsError("Mars: the client was closed");
    while (this.#pending.size >= this.#options.window) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve, reject) => this.#roomWaiters.push({ resolve, reject }));
    }
    if (this.#failure) throw this.#failure;
    const pending: Pending = { id: this.#nextId++, frame, sent: false, resend: false, unanswered: 0 };
    this.#pending.set(pending.id, pending);
    if (frame.batchId !== undefined) this.#byBatch.set(frame.batchId, pending);
    this.#unsent.push(pending);
    if (!this.#socket && !this.#reconnectTimer) this.#connect();
    this.#pump();
  }

  /** Resolves when every frame sent so far has been answered; rejects if the client gives up first. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
    }
    if (this.#failure) throw this.#failure;
  }

  /** Closes the connection normally; pending frames are abandoned, and waiting calls fail. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#clearTimers();
    const closed = new MarsError("Mars: the client was closed");
    for (const waiter of [
      ...this.#roomWaiters.splice(0),
      ...this.#drainWaiters.splice(0),
      ...this.#readyWaiters.splice(0),
    ]) {
      waiter.reject(closed);
    }
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = false;
    if (!socket) return;
    await closeConnection(socket);
  }

  #notice(message: string): void {
    this.#options.onNotice?.(message);
  }

  #connect(): void {
    if (this.#closing || this.#failure) return;
    const { url, apiKey, protocol, connectTimeoutMs } = this.#options;
    const socket: WebSocket = openConnection(url, apiKey, protocol, connectTimeoutMs, {
      upgradeRefused: (status) => {
        if (status === 401 || status === 403) {
          this.#fail(
            new MarsAuthError(
              `Mars: ${url} refused the API key (HTTP ${status} at the WebSocket upgrade); check API_KEY or --api-key`,
            ),
          );
        }
        this.#problem = `the server answered the WebSocket upgrade with HTTP ${status}`;
      },
      open: () => {
        if (protocol === "v1") {
          // The authentication frame, byte for byte as the original protocol has it.
          socket.send(JSON.stringify({ type: "authentication", api_key: apiKey }));
          this.#armTimer(
            socket,
            `no answer to the authentication frame within ${connectTimeoutMs} ms`,
            connectTimeoutMs,
          );
        } else {
          this.#becomeReady();
        }
      },
      message: (text) => this.#onMessage(socket, text),
      error: (message) => {
        if (this.#socket === socket) this.#problem ??= message;
      },
      close: (code, reason) => {
        if (this.#socket !== socket) return;
        this.#socket = undefined;
        this.#ready = false;
        this.#stopAckTimer();
        const why =
          this.#problem ?? `connection closed with code ${code}${reason.length > 0 ? ` (${reason})` : ""}`;
        this.#lost(why);
      },
    });
    this.#socket = socket;
    this.#problem = undefined;
  }

  #becomeReady(): void {
    this.#stopAckTimer();
    this.#ready = true;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
    this.#pump();
  }

  #lost(reason: string): void {
    if (this.#closing || this.#failure) return;
    // Everything not answered goes out again, in its original order.
    for (const pending of this.#pending.values()) {
      if (!pending.sent) continue;
      pending.resend = true;
      pending.sent = false;
      pending.unanswered++;
      if (pending.unanswered > this.#options.maxReconnects) {
        this.stats.unanswered += pending.frame.units;
        this.#notice(
          `Mars: gave up on a frame the server never answered: ${pending.frame.text.slice(0, 120)}`,
        );
        this.#forget(pending);
      }
    }
    this.#unsent = [...this.#pending.values()];
    if (this.#pending.size === 0 && this.#readyWaiters.length === 0) {
      // Nothing to deliver: stay disconnected until there is (see `send`).
      return;
    }
    this.#attempts++;
    const { maxReconnects, backoffBaseMs, backoffMaxMs, url } = this.#options;
    if (this.#attempts > maxReconnects) {
      this.#fail(
        new MarsGaveUpError(`Mars: gave up after ${maxReconnects} reconnect attempts to ${url}: ${reason}`),
      );
      return;
    }
    // "Equal jitter": at least half the backoff, so retries spread out without collapsing to zero.
    const delay = Math.round(
      backoffDelay(
        this.#attempts,
        { initialMs: backoffBaseMs, maxMs: backoffMaxMs, jitter: "equal" },
        this.#options.jitter,
      ),
    );
    this.stats.reconnects++;
    this.#notice(
      `Mars: connection to ${url} lost (${reason}); reconnecting in ${delay} ms (attempt ${this.#attempts} of ${maxReconnects})`,
    );
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect();
    }, delay);
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#clearTimers();
    for (const waiter of [
      ...this.#roomWaiters.splice(0),
      ...this.#drainWaiters.splice(0),
      ...this.#readyWaiters.splice(0),
    ]) {
      waiter.reject(error);
    }
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = false;
    socket?.terminate();
  }

  #pump(): void {
    const socket = this.#socket;
    if (!this.#ready || !socket || !isOpen(socket)) return;
    const batch = this.#unsent;
    this.#unsent = [];
    for (const pending of batch) {
      if (!this.#pending.has(pending.id) || pending.sent) continue;
      socket.send(pending.frame.text);
      pending.sent = true;
      this.stats.framesSent++;
      if (pending.resend) this.stats.framesResent++;
    }
    if (this.#pending.size > 0) this.#armAckTimer();
  }

  #onMessage(socket: WebSocket, text: string): void {
    if (socket !== this.#socket) return;
    const reply = parseReplyObject(text);
    if (reply === undefined) {
      this.#notice(`Mars: ignored a reply that is not a JSON object: ${text.slice(0, 200)}`);
      return;
    }
    if (this.#options.protocol === "v1") this.#onV1Reply(reply);
    else this.#onV2Reply(reply);
  }

  #onV1Reply(reply: Record<string, unknown>): void {
    const reading = readV1Reply(reply, this.#ready);
    switch (reading.kind) {
      case "authenticated":
        this.#becomeReady();
        return;
      case "authentication-refused":
        this.#fail(
          new MarsAuthError(`Mars: ${this.#options.url} refused to authenticate: ${reading.message}`),
        );
        return;
      case "ignored":
        this.#notice(reading.notice);
        return;
    }
    // Replies come in the order of the frames: the oldest frame in flight is the one answered.
    const oldest = this.#oldestSent();
    if (!oldest) {
      this.#notice("Mars: ignored a reply with no frame in flight");
      return;
    }
    if (reading.kind === "acknowledged") {
      this.stats.acknowledged += 1;
    } else if (reading.kind === "log-unavailable") {
      this.#retryLater(oldest, "a message", reading.message);
      return;
    } else {
      this.stats.rejected += 1;
      if (reading.message !== undefined) this.stats.lastRejection = reading.message;
    }
    this.#answered(oldest);
  }

  #onV2Reply(reply: Record<string, unknown>): void {
    const reading = readV2Reply(reply);
    if (reading.kind === "ack") {
      const pending = this.#byBatch.get(reading.batchId);
      if (!pending?.sent) return;
      const { accepted } = reading;
      const rejected = reading.rejected ?? pending.frame.units - accepted;
      this.stats.acknowledged += accepted;
      this.stats.rejected += rejected;
      if (rejected > 0) this.stats.lastRejection = describeV2Rejection(reply);
      this.#answered(pending);
      return;
    }
    if (reading.kind === "unexpected") {
      this.#notice(reading.notice);
      return;
    }
    const { batchId, code, message } = reading;
    // An error that names a batch of ours answers it; any other answers the oldest frame that was broken
    // on purpose (not JSON, or not a valid batch), which is the only kind Venus cannot tie to a batch id.
    const pending =
      (batchId === undefined ? undefined : this.#byBatch.get(batchId)) ??
      this.#oldestSent((p) => p.frame.garbage === true);
    if (pending?.sent && code === "log_unavailable") {
      this.#retryLater(pending, batchId ?? "a frame", message);
      return;
    }
    if (pending?.sent) {
      this.stats.rejected += pending.frame.units;
      this.stats.lastRejection = `${code}: ${message}`;
      this.#answered(pending);
      return;
    }
    if (code === "not_authenticated") {
      this.#fail(new MarsAuthError(`Mars: ${this.#options.url} did not accept the API key: ${message}`));
      return;
    }
    this.#notice(`Mars: server error ${code}: ${message}`);
  }

  /** Nothing of the frame was stored: send it again after a pause. */
  #retryLater(pending: Pending, what: string, message: string): void {
    pending.sent = false;
    pending.resend = true;
    this.#notice(`Mars: ${what} not stored (${message}); retrying`);
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      this.#unsent.push(pending);
      this.#pump();
    }, this.#options.backoffBaseMs);
    this.#retryTimers.add(timer);
  }

  #oldestSent(match: (pending: Pending) => boolean = () => true): Pending | undefined {
    for (const pending of this.#pending.values()) if (pending.sent && match(pending)) return pending;
    return undefined;
  }

  #answered(pending: Pending): void {
    // An answer is progress: the connection works, so the reconnect budget starts again.
    this.#attempts = 0;
    this.#forget(pending);
    this.#armAckTimer();
  }

  #forget(pending: Pending): void {
    this.#pending.delete(pending.id);
    if (pending.frame.batchId !== undefined) this.#byBatch.delete(pending.frame.batchId);
    for (const waiter of this.#roomWaiters.splice(0)) waiter.resolve();
    if (this.#pending.size === 0) {
      this.#stopAckTimer();
      for (const waiter of this.#drainWaiters.splice(0)) waiter.resolve();
    }
  }

  #armAckTimer(): void {
    this.#stopAckTimer();
    const socket = this.#socket;
    if (!socket || !this.#oldestSent()) return;
    const { ackTimeoutMs } = this.#options;
    this.#armTimer(socket, `no answer from the server for ${ackTimeoutMs} ms`, ackTimeoutMs);
  }

  /** Treats silence as a dead connection: after `ms`, close it (the frames go out again on a new one). */
  #armTimer(socket: WebSocket, problem: string, ms: number): void {
    this.#stopAckTimer();
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      if (this.#socket !== socket) return;
      this.#problem = problem;
      socket.terminate();
    }, ms);
  }

  #stopAckTimer(): void {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #clearTimers(): void {
    this.#stopAckTimer();
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
  }
}
