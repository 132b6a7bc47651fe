import { createHash, timingSafeEqual } from "node:crypto";
import type { EventLog, LogRecordInput } from "#shared/event-log/types.ts";
import {
  deadLetterHeaders,
  EVENT_LIMITS,
  exceedsDepth,
  sessionsRecordHeaders,
  V1_FIELDS,
  V1_LOG_UNAVAILABLE_PREFIX,
  type ValidationIssue,
  v1EventId,
  validateV1,
  validateV2,
} from "#shared/events/index.ts";
import { logger } from "#shared/logging/index.ts";
import { AuthFailureLimiter } from "./auth-limiter.ts";
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

/** The reply's text for a frame over {@link MAX_FRAME_BYTES}; its size is unknown when it was not read whole. */
export const frameTooLargeMessage = (byteLength?: number) =>
  `Frame of ${byteLength === undefined ? "more than " : ""}${byteLength ?? MAX_FRAME_BYTES} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit; send smaller batches`;

const V1_FIELD_SET: ReadonlySet<string> = new Set(V1_FIELDS);

/** What Venus tolerates from one client before it stops listening to it; see README "Configuration". */
export interface VenusLimits {
  /** Failed authentications one remote address may make per minute; the next ones are refused unchecked. */
  authFailuresPerMinute: number;
  /** Events a connection's rejection ratio is judged over (a frame that is not an event counts as one). */
  rejectionWindow: number;
  /** Share of rejected events in a window at which the connection is closed (1 never closes). */
  rejectionCloseRatio: number;
}

export const DEFAULT_VENUS_LIMITS: VenusLimits = {
  authFailuresPerMinute: 10,
  rejectionWindow: 1000,
  rejectionCloseRatio: 0.9,
};

/** Where Venus says what happened on the server's side: failed authentications, internal errors. */
export interface VenusLogger {
  warn(message: string): void;
  error(message: string): void;
}

export interface VenusOptions {
  log: EventLog;
  connections: ConnectionStore;
  apiKey: string;
  topics: { sessions: string; deadLetter: string };
  limits?: Partial<VenusLimits>;
  /** Default: the `venus` logger. */
  logger?: VenusLogger;
  now?: () => number;
}

export interface ConnectRequest {
  connectionId: string;
  headers?: Record<string, string | undefined>;
  query?: Record<string, string | undefined>;
  sourceIp?: string;
}

export type ConnectOutcome =
  | { accepted: true }
  | { accepted: false; statusCode: 401 | 429; message: string; retryAfterSeconds?: number };

export interface FrameOutcome {
  reply: string;
  /**
   * Set when the connection must be closed after the reply: a failed v1 authentication, or a connection
   * whose events are mostly rejected.
   */
  close?: { code: number; reason: string };
}

export interface VenusStats {
  framesReceived: number;
  eventsAccepted: number;
  eventsRejected: number;
  framesRejected: number;
  connectionsOpened: number;
  connectionsRefused: number;
  /** Wrong or missing keys, at connect or in an authentication frame (refusals by the rate limit included). */
  authenticationsFailed: number;
  /** Accepted v1 events that carried fields besides the 12 (kept in the raw payload). */
  v1EventsWithExtraFields: number;
  /** Frames whose handling failed unexpectedly; each was answered with an internal error. */
  internalErrors: number;
  /** Connections closed because most of their events were rejected. */
  connectionsClosedForRejections: number;
}

/** WebSocket close code 1008: policy violation (RFC 6455 §7.4.1), used for a wrong API key. */
export const CLOSE_POLICY_VIOLATION = 1008;

/** At most this many names of v1 extra fields are remembered for {@link Venus.v1ExtraFields}. */
const MAX_EXTRA_FIELD_NAMES = 32;

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

const keyDigest = (key: string) => createHash("sha256").update(key, "utf8").digest();

/**
 * Compares a presented key with the expected one through their SHA-256 digests: both sides are 32 bytes
 * whatever was sent, so neither the comparison's time nor an early length check leaks the key's length or
 * a prefix of it.
 */
function sameKey(given: unknown, expected: Buffer): boolean {
  if (typeof given !== "string") return false;
  return timingSafeEqual(keyDigest(given), expected);
}

/** Rejections of one connection in its current window of events. */
interface RejectionWindow {
  events: number;
  rejected: number;
}

const internalErrorMessage = (errorId: string) =>
  `Internal error while handling this frame (error id ${errorId}); nothing from it was stored. The connection stays open; retry, and report the id if it persists`;

export class Venus {
  readonly stats: VenusStats = {
    framesReceived: 0,
    eventsAccepted: 0,
    eventsRejected: 0,
    framesRejected: 0,
    connectionsOpened: 0,
    connectionsRefused: 0,
    authenticationsFailed: 0,
    v1EventsWithExtraFields: 0,
    internalErrors: 0,
    connectionsClosedForRejections: 0,
  };

  readonly #options: VenusOptions;
  readonly #now: () => number;
  readonly #limits: VenusLimits;
  readonly #logger: VenusLogger;
  readonly #apiKeyDigest: Buffer;
  readonly #authFailures: AuthFailureLimiter;
  readonly #rejections = new Map<string, RejectionWindow>();
  /** Connections to close once their current frames are answered, with the close code and reason. */
  readonly #closing = new Map<string, { code: number; reason: string }>();
  /** Names of the fields v1 devices added, with how many accepted events carried each. */
  readonly #extraFields = new Map<string, number>();
  #errorSequence = 0;
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
    this.#limits = { ...DEFAULT_VENUS_LIMITS, ...options.limits };
    this.#logger = options.logger ?? logger("venus");
    this.#apiKeyDigest = keyDigest(options.apiKey);
    this.#authFailures = new AuthFailureLimiter({
      perMinute: this.#limits.authFailuresPerMinute,
      now: this.#now,
      warn: (message) => this.#logger.warn(message),
    });
  }

  /** Fields besides the 12 that accepted v1 events carried, with counts (at most 32 names). */
  v1ExtraFields(): ReadonlyMap<string, number> {
    return this.#extraFields;
  }

  async connect(request: ConnectRequest): Promise<ConnectOutcome> {
    const key = header(request.headers, "x-api-key") ?? request.query?.api_key;
    if (key !== undefined) {
      const refusal = this.#checkKey(key, request.sourceIp ?? "", "at connect");
      if (refusal) {
        this.stats.connectionsRefused += 1;
        return refusal.retryAfterSeconds === undefined
          ? { accepted: false, statusCode: 401, message: refusal.message }
          : {
              accepted: false,
              statusCode: 429,
              message: refusal.message,
              retryAfterSeconds: refusal.retryAfterSeconds,
            };
      }
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
    this.#rejections.delete(connectionId);
    this.#closing.delete(connectionId);
    await this.#options.connections.delete(connectionId);
  }

  /** Whether the connection has authenticated (by key at connect, or by its v1 authentication frame). */
  isAuthenticated(connectionId: string): boolean {
    return this.#states.get(connectionId)?.authenticated === true;
  }

  /**
   * Checks a presented key, unless its address already failed too often this minute (then the key is not
   * even compared). Returns why it is refused, or `undefined` when it is right.
   */
  #checkKey(
    key: unknown,
    sourceIp: string,
    where: string,
  ): { message: string; retryAfterSeconds?: number } | undefined {
    const blockedFor = this.#authFailures.blockedSeconds(sourceIp);
    if (blockedFor > 0) {
      this.stats.authenticationsFailed += 1;
      this.#authFailures.record(sourceIp, `refused ${where} (too many failures)`);
      return {
        message: `Authentication refused: too many failed attempts from this address; retry in ${blockedFor} s`,
        retryAfterSeconds: blockedFor,
      };
    }
    if (sameKey(key, this.#apiKeyDigest)) return undefined;
    this.stats.authenticationsFailed += 1;
    this.#authFailures.record(sourceIp, `wrong API key ${where}`);
    return { message: "Authentication failed: invalid API key" };
  }

  /**
   * Handles one frame. Its synchronous part (state lookup when cached, parsing, validation, issuing the
   * append) runs before the first await, so frames of one connection reach the log in arrival order.
   */
  receive(connectionId: string, frame: string): Promise<FrameOutcome> {
    this.stats.framesReceived += 1;
    const closing = this.#closing.get(connectionId);
    if (closing) {
      // Decided by an earlier frame: this one is not read (see #tally).
      const message = `Connection closing: ${closing.reason}; this frame was not read`;
      const v2 = this.#states.get(connectionId)?.protocol === "v2";
      return Promise.resolve({
        reply: v2 ? v2Error("invalid_frame", message) : v1Replies.rejected(message),
        close: closing,
      });
    }
    let outcome: Promise<FrameOutcome>;
    try {
      const cached = this.#states.get(connectionId);
      const pending = this.#pending.get(connectionId);
      if (cached?.authenticated && !pending) {
        outcome = this.#handleAndJudge(cached, frame);
      } else {
        // Not known to be authenticated here: read the store, after this connection's earlier frames.
        outcome = (pending ?? Promise.resolve())
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
            return this.#handleAndJudge(state, frame);
          });
        const settled = outcome.catch(() => undefined);
        this.#pending.set(connectionId, settled);
        void settled.then(() => {
          if (this.#pending.get(connectionId) === settled) this.#pending.delete(connectionId);
        });
      }
    } catch (error) {
      outcome = Promise.reject(error);
    }
    return outcome.catch((error: unknown) => this.#internalError(connectionId, error));
  }

  /**
   * Any failure of one frame's handling ends here: the client is told, the server logs it with an id the
   * client also gets, and the connection and the process go on.
   */
  #internalError(connectionId: string, error: unknown): FrameOutcome {
    this.stats.internalErrors += 1;
    this.#errorSequence += 1;
    const errorId = `${this.#now().toString(36)}-${this.#errorSequence}`;
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.#logger.error(`venus: internal error ${errorId} on connection ${connectionId}: ${detail}`);
    const message = internalErrorMessage(errorId);
    const v2 = this.#states.get(connectionId)?.protocol === "v2";
    return { reply: v2 ? v2Error("internal_error", message) : v1Replies.rejected(message) };
  }

  /**
   * Counts a frame's events in its connection's window, called in the frame's synchronous part (before its
   * appends), so a connection that crosses the limit has its later frames refused unread: a client that
   * sends mostly rejected events cannot fill the dead-letter topic faster than Venus decides to stop it.
   */
  #tally(connectionId: string, events: number, rejected: number): void {
    const { rejectionWindow, rejectionCloseRatio } = this.#limits;
    if (rejectionCloseRatio >= 1 || events === 0) return;
    let window = this.#rejections.get(connectionId);
    if (window === undefined) {
      window = { events: 0, rejected: 0 };
      this.#rejections.set(connectionId, window);
    }
    window.events += events;
    window.rejected += rejected;
    if (window.rejected >= Math.ceil(rejectionWindow * rejectionCloseRatio)) {
      this.stats.connectionsClosedForRejections += 1;
      const reason = `${window.rejected} of the last ${window.events} events were rejected`;
      this.#logger.warn(`venus: closing connection ${connectionId}: ${reason}`);
      this.#rejections.delete(connectionId);
      this.#closing.set(connectionId, {
        code: CLOSE_POLICY_VIOLATION,
        reason: `Too many rejected events: ${reason}`,
      });
    } else if (window.events >= rejectionWindow) {
      window.events = 0;
      window.rejected = 0;
    }
  }

  /**
   * Handles the frame; when its synchronous part made the connection's events cross the rejection limit
   * (see {@link #tally}), its reply carries the close. Earlier frames still in flight keep theirs without.
   */
  #handleAndJudge(state: ConnectionState, frame: string): Promise<FrameOutcome> {
    const outcome = this.#handle(state, frame);
    const close = this.#closing.get(state.connectionId);
    return close ? outcome.then((result) => (result.close ? result : { ...result, close })) : outcome;
  }

  async #handle(state: ConnectionState, frame: string): Promise<FrameOutcome> {
    const v2 = state.protocol === "v2";
    const byteLength = Buffer.byteLength(frame);
    if (byteLength > MAX_FRAME_BYTES) {
      this.stats.framesRejected += 1;
      const message = frameTooLargeMessage(byteLength);
      this.#tally(state.connectionId, 1, 1);
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
      this.#tally(state.connectionId, 1, 1);
      const message =
        'Not authenticated: send {"type":"authentication","api_key":"..."} first, or connect with an x-api-key header';
      return { reply: v2 ? v2Error("not_authenticated", message) : v1Replies.rejected(message) };
    }
    if (parsed.type === "events") return this.#ingestBatch(state, frame, parsed);
    return this.#ingestV1(state, frame, parsed, byteLength);
  }

  async #authenticate(state: ConnectionState, frame: Record<string, unknown>): Promise<FrameOutcome> {
    const refusal = this.#checkKey(frame.api_key, state.sourceIp, "in an authentication frame");
    if (refusal) {
      this.stats.connectionsRefused += 1;
      return {
        reply: v1Replies.authenticationRefused(refusal.message),
        close: { code: CLOSE_POLICY_VIOLATION, reason: refusal.message },
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
      this.#tally(state.connectionId, 1, 1);
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
    this.#tally(state.connectionId, 1, 0);
    if (result.extraFields !== undefined) this.#countExtraFields(message);
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

  /** Counts the fields an accepted v1 message carried besides the 12 (the original devices add two). */
  #countExtraFields(message: Record<string, unknown>): void {
    this.stats.v1EventsWithExtraFields += 1;
    for (const key in message) {
      if (V1_FIELD_SET.has(key)) continue;
      const seen = this.#extraFields.get(key);
      if (seen !== undefined) this.#extraFields.set(key, seen + 1);
      else if (this.#extraFields.size < MAX_EXTRA_FIELD_NAMES) this.#extraFields.set(key, 1);
    }
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
    /** Events nested too deep to serialise safely: the raw frame is dead-lettered once for all of them. */
    const tooDeep: number[] = [];
    for (const [index, input] of (events as unknown[]).entries()) {
      // Validated before it is serialised: an event that passes is flat and within the size limit, and one
      // that fails is checked for depth before anything recursive reads it.
      const result = validateV2(input, { now });
      if (result.ok) {
        const event = result.value;
        accepted.push({
          key: event.device_id,
          value: JSON.stringify(input),
          timestamp: receivedAt,
          headers: sessionsRecordHeaders({ schemaVersion: 2, event }),
        });
        results.push({ ok: true });
      } else {
        results.push({ ok: false, errors: result.issues });
        if (result.issues[0]?.rule === "max_depth" || exceedsDepth(input)) {
          tooDeep.push(index);
          continue;
        }
        const key = isRecord(input) ? input.device_id : undefined;
        rejected.push(
          this.#dead(JSON.stringify(input) ?? "null", key ?? state.connectionId, result.issues, 2),
        );
      }
    }
    if (tooDeep.length > 0) {
      const issue: ValidationIssue = {
        field: "(frame)",
        rule: "max_depth",
        message: `events at index ${tooDeep.join(", ")} nest deeper than ${EVENT_LIMITS.maxEventDepth} levels; the raw frame is kept`,
      };
      rejected.push(this.#dead(frame, state.connectionId, [issue], 2));
    }
    const rejectedEvents = results.length - accepted.length;
    this.#tally(state.connectionId, results.length, rejectedEvents);
    try {
      await Promise.all([
        accepted.length > 0 ? this.#options.log.append(this.#options.topics.sessions, accepted) : undefined,
        this.#deadLetter(state, receivedAt, rejected),
      ]);
    } catch (error) {
      return { reply: v2Error("log_unavailable", this.#unavailable(error), batchId as string) };
    }
    this.stats.eventsAccepted += accepted.length;
    this.stats.eventsRejected += rejectedEvents;
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
    this.#tally(state.connectionId, 1, 1);
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

  /**
   * The reply when the log refused an append. The cause (a broker address, a file path) is for the server's
   * log, not for the client: it is logged once per failure and the client is told only to retry.
   */
  #unavailable(error: unknown): string {
    this.#logger.error(
      `venus: the event log refused an append: ${(error as Error)?.message ?? String(error)}`,
    );
    return `${V1_LOG_UNAVAILABLE_PREFIX}, nothing was stored; retry later`;
  }
}
