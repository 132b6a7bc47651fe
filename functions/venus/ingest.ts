import { timingSafeEqual } from "node:crypto";
import {
  deadLetterHeaders,
  EVENT_LIMITS,
  sessionsRecordHeaders,
  V1_LOG_UNAVAILABLE_PREFIX,
  type ValidationIssue,
  v1EventId,
  validateV1,
  validateV2,
} from "#shared/events/index.ts";
import type { EventLog, LogRecordInput } from "#shared/log/types.ts";
import type { ConnectionState, ConnectionStore } from "./connection-store.ts";
import { describeIssues, type EventResult, v1Replies, v2Ack, v2Error } from "./replies.ts";

/**
 * Venus's protocol core, shared by the Lambda handler (API Gateway / serverless offline) and the embedded
 * WebSocket server. It decides what a frame means, writes accepted events to the sessions topic and
 * rejected ones to the dead-letter topic, and returns the reply. A reply that acknowledges an event is only
 * produced after the log acknowledged the append.
 */

/** Largest frame Venus reads (API Gateway's own message limit is 128 KB; batches stay well below this). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export interface VenusOptions {
  log: EventLog;
  connections: ConnectionStore;
  apiKey: string;
  topics: { sessions: string; deadLetter: string };
  now?: () => number;
}

export interface ConnectRequest {
  connectionId: string;
  headers?: Record<string, string | undefined>;
  query?: Record<string, string | undefined>;
  sourceIp?: string;
}

export type ConnectOutcome = { accepted: true } | { accepted: false; statusCode: 401; message: string };

export interface FrameOutcome {
  reply: string;
  /** Set when the connection must be closed after the reply (a failed v1 authentication). */
  close?: { code: number; reason: string };
}

export interface VenusStats {
  framesReceived: number;
  eventsAccepted: number;
  eventsRejected: number;
  framesRejected: number;
  connectionsOpened: number;
  connectionsRefused: number;
}

/** WebSocket close code 1008: policy violation (RFC 6455 §7.4.1), used for a wrong API key. */
const CLOSE_POLICY_VIOLATION = 1008;

type DeadLetter = { key: string; value: string; issues: ValidationIssue[]; schemaVersion: 1 | 2 };

function header(headers: ConnectRequest["headers"], name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Compares keys in constant time for equal lengths, so response timing does not leak a prefix. */
function sameKey(given: unknown, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class Venus {
  readonly stats: VenusStats = {
    framesReceived: 0,
    eventsAccepted: 0,
    eventsRejected: 0,
    framesRejected: 0,
    connectionsOpened: 0,
    connectionsRefused: 0,
  };

  readonly #options: VenusOptions;
  readonly #now: () => number;
  /**
   * Write-through cache of the connection store. State only moves from unauthenticated to authenticated,
   * so a cached entry is never more permissive than the store; it keeps frames of one connection in order
   * by letting their synchronous part run without waiting for the store. Only an authenticated entry is
   * final: an unauthenticated one may have changed in the store (on Lambda, the authentication frame can
   * reach another instance), so receive() reads the store again for it.
   */
  readonly #states = new Map<string, ConnectionState>();
  /** Frames of a connection still waiting for its state from the store, chained to keep their order. */
  readonly #pending = new Map<string, Promise<unknown>>();

  constructor(options: VenusOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async connect(request: ConnectRequest): Promise<ConnectOutcome> {
    const key = header(request.headers, "x-api-key") ?? request.query?.api_key;
    if (key !== undefined && !sameKey(key, this.#options.apiKey)) {
      this.stats.connectionsRefused += 1;
      return { accepted: false, statusCode: 401, message: "Authentication failed: invalid API key" };
    }
    // Without a key at connect, the client speaks the original protocol and authenticates by frame.
    const state: ConnectionState = {
      connectionId: request.connectionId,
      authenticated: key !== undefined,
      protocol: key !== undefined ? "v2" : "v1",
      connectedAt: this.#now(),
      sourceIp: request.sourceIp ?? "",
    };
    this.#states.set(state.connectionId, state);
    await this.#options.connections.put(state);
    this.stats.connectionsOpened += 1;
    return { accepted: true };
  }

  async disconnect(connectionId: string): Promise<void> {
    this.#states.delete(connectionId);
    this.#pending.delete(connectionId);
    await this.#options.connections.delete(connectionId);
  }

  /**
   * Handles one frame. Its synchronous part (state lookup when cached, parsing, validation, issuing the
   * append) runs before the first await, so frames of one connection reach the log in arrival order.
   */
  receive(connectionId: string, frame: string): Promise<FrameOutcome> {
    this.stats.framesReceived += 1;
    const cached = this.#states.get(connectionId);
    const pending = this.#pending.get(connectionId);
    if (cached?.authenticated && !pending) return this.#handle(cached, frame);
    // Not known to be authenticated here: read the store, after this connection's earlier frames.
    const outcome = (pending ?? Promise.resolve())
      .then(() => this.#states.get(connectionId))
      .then(async (known) => {
        const stored = known?.authenticated ? known : await this.#options.connections.get(connectionId);
        if (stored) this.#states.set(connectionId, stored);
        const state: ConnectionState = stored ?? {
          connectionId,
          authenticated: false,
          protocol: "v1",
          connectedAt: this.#now(),
          sourceIp: "",
        };
        return this.#handle(state, frame);
      });
    const settled = outcome.catch(() => undefined);
    this.#pending.set(connectionId, settled);
    void settled.then(() => {
      if (this.#pending.get(connectionId) === settled) this.#pending.delete(connectionId);
    });
    return outcome;
  }

  async #handle(state: ConnectionState, frame: string): Promise<FrameOutcome> {
    const v2 = state.protocol === "v2";
    const byteLength = Buffer.byteLength(frame);
    if (byteLength > MAX_FRAME_BYTES) {
      this.stats.framesRejected += 1;
      const message = `Frame of ${byteLength} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`;
      return { reply: v2 ? v2Error("frame_too_large", message) : v1Replies.rejected(message) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame);
    } catch (error) {
      const message = `Invalid JSON: ${(error as Error).message}`;
      return this.#rejectFrame(state, frame, "malformed_json", message);
    }
    if (!isRecord(parsed)) {
      return this.#rejectFrame(state, frame, "not_object", "Invalid frame: expected a JSON object");
    }
    if (parsed.type === "authentication") return this.#authenticate(state, parsed);
    if (!state.authenticated) {
      this.stats.framesRejected += 1;
      const message =
        'Not authenticated: send {"type":"authentication","api_key":"..."} first, or connect with an x-api-key header';
      return { reply: v2 ? v2Error("not_authenticated", message) : v1Replies.rejected(message) };
    }
    if (parsed.type === "events") return this.#ingestBatch(state, frame, parsed);
    return this.#ingestV1(state, frame, parsed, byteLength);
  }

  async #authenticate(state: ConnectionState, frame: Record<string, unknown>): Promise<FrameOutcome> {
    if (!sameKey(frame.api_key, this.#options.apiKey)) {
      this.stats.connectionsRefused += 1;
      return {
        reply: v1Replies.authenticationFailed,
        close: { code: CLOSE_POLICY_VIOLATION, reason: "Authentication failed: invalid API key" },
      };
    }
    const authenticated: ConnectionState = { ...state, authenticated: true };
    this.#states.set(state.connectionId, authenticated);
    await this.#options.connections.put(authenticated);
    return { reply: v1Replies.authenticated };
  }

  async #ingestV1(
    state: ConnectionState,
    frame: string,
    message: Record<string, unknown>,
    byteLength: number,
  ): Promise<FrameOutcome> {
    const receivedAt = this.#now();
    const result = validateV1(message, { now: new Date(receivedAt), byteLength });
    if (!result.ok) {
      this.stats.eventsRejected += 1;
      const reason = `Invalid data: ${describeIssues(result.issues)}`;
      try {
        await this.#deadLetter(state, receivedAt, [
          this.#dead(frame, message.device_id ?? state.connectionId, result.issues, 1),
        ]);
      } catch (error) {
        return { reply: v1Replies.rejected(this.#unavailable(error)) };
      }
      return { reply: v1Replies.rejected(reason) };
    }
    const event = result.value;
    const record: LogRecordInput = {
      key: event.device_id,
      value: frame,
      timestamp: receivedAt,
      headers: sessionsRecordHeaders({ schemaVersion: 1, event, eventId: v1EventId(event) }),
    };
    try {
      await this.#options.log.append(this.#options.topics.sessions, [record]);
    } catch (error) {
      return { reply: v1Replies.rejected(this.#unavailable(error)) };
    }
    this.stats.eventsAccepted += 1;
    return { reply: v1Replies.accepted };
  }

  async #ingestBatch(
    state: ConnectionState,
    frame: string,
    batch: Record<string, unknown>,
  ): Promise<FrameOutcome> {
    const batchId = batch.batch_id;
    const events = batch.events;
    const frameProblem =
      typeof batchId !== "string" || batchId.length === 0 || batchId.length > EVENT_LIMITS.maxBatchIdLength
        ? `batch_id must be a string of 1 to ${EVENT_LIMITS.maxBatchIdLength} characters`
        : !Array.isArray(events) || events.length === 0
          ? "events must be a non-empty array"
          : events.length > EVENT_LIMITS.maxBatchEvents
            ? `events holds ${events.length} events; at most ${EVENT_LIMITS.maxBatchEvents} per frame`
            : undefined;
    if (frameProblem !== undefined) {
      return this.#rejectFrame(
        state,
        frame,
        "invalid_frame",
        `Invalid batch: ${frameProblem}`,
        typeof batchId === "string" ? batchId.slice(0, EVENT_LIMITS.maxBatchIdLength) : undefined,
      );
    }
    const receivedAt = this.#now();
    const now = new Date(receivedAt);
    const accepted: LogRecordInput[] = [];
    const rejected: DeadLetter[] = [];
    const results: EventResult[] = [];
    for (const input of events as unknown[]) {
      const text = JSON.stringify(input) ?? "null";
      const result = validateV2(input, { now, byteLength: Buffer.byteLength(text) });
      if (result.ok) {
        const event = result.value;
        accepted.push({
          key: event.device_id,
          value: text,
          timestamp: receivedAt,
          headers: sessionsRecordHeaders({ schemaVersion: 2, event }),
        });
        results.push({ ok: true });
      } else {
        const key = isRecord(input) ? input.device_id : undefined;
        rejected.push(this.#dead(text, key ?? state.connectionId, result.issues, 2));
        results.push({ ok: false, errors: result.issues });
      }
    }
    try {
      await Promise.all([
        accepted.length > 0 ? this.#options.log.append(this.#options.topics.sessions, accepted) : undefined,
        this.#deadLetter(state, receivedAt, rejected),
      ]);
    } catch (error) {
      return { reply: v2Error("log_unavailable", this.#unavailable(error), batchId as string) };
    }
    this.stats.eventsAccepted += accepted.length;
    this.stats.eventsRejected += rejected.length;
    return { reply: v2Ack(batchId as string, results) };
  }

  /** A frame that is not an event at all: kept in the dead-letter topic when the sender is authenticated. */
  async #rejectFrame(
    state: ConnectionState,
    frame: string,
    rule: "malformed_json" | "not_object" | "invalid_frame",
    message: string,
    batchId?: string,
  ): Promise<FrameOutcome> {
    this.stats.framesRejected += 1;
    const v2 = state.protocol === "v2";
    const reply = v2
      ? v2Error(rule === "invalid_frame" ? "invalid_frame" : "malformed_json", message, batchId)
      : v1Replies.rejected(message);
    if (!state.authenticated) return { reply };
    try {
      const issue: ValidationIssue = { field: "(frame)", rule, message };
      await this.#deadLetter(state, this.#now(), [
        this.#dead(frame, state.connectionId, [issue], v2 ? 2 : 1),
      ]);
    } catch (error) {
      const unavailable = this.#unavailable(error);
      return {
        reply: v2 ? v2Error("log_unavailable", unavailable, batchId) : v1Replies.rejected(unavailable),
      };
    }
    return { reply };
  }

  #dead(value: string, key: unknown, issues: ValidationIssue[], schemaVersion: 1 | 2): DeadLetter {
    return {
      key: typeof key === "string" && key.length > 0 && key.length <= 128 ? key : "unknown",
      value,
      issues,
      schemaVersion,
    };
  }

  async #deadLetter(state: ConnectionState, receivedAt: number, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const at = new Date(receivedAt);
    await this.#options.log.append(
      this.#options.topics.deadLetter,
      letters.map((letter) => ({
        key: letter.key,
        value: letter.value,
        headers: {
          ...deadLetterHeaders(letter.issues, letter.schemaVersion, at),
          connection_id: state.connectionId,
        },
      })),
    );
  }

  #unavailable(error: unknown): string {
    return `${V1_LOG_UNAVAILABLE_PREFIX}, nothing was stored; retry later (${(error as Error).message})`;
  }
}
