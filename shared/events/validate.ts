import type { z } from "zod";
import {
  DEFAULT_MAX_FUTURE_SKEW_MS,
  EVENT_LIMITS,
  PLATFORM_EPOCH,
  PLATFORM_EPOCH_ISO,
  STATUSES_REQUIRING_REASON,
} from "./constants.ts";
import { issuesFromZod, showValue, type Validation, type ValidationIssue } from "./issues.ts";
import { compilePrecheck, type Precheck } from "./precheck.ts";
import { parseTimestampMs } from "./timestamp.ts";
import { type V1Message, v1MessageSchema } from "./v1.ts";
import { V2_EVENT_SCHEMAS, type V2Event, v2EnvelopeSchema } from "./v2.ts";

export interface ValidateOptions {
  /** The current time for the future-timestamp rule; defaults to the clock at validation. */
  now?: Date;
  /** `now` in milliseconds since the epoch (taken before `now` when both are given). */
  nowMs?: number;
  /** How far after `now` an event time may be; defaults to 10 minutes. */
  maxFutureSkewMs?: number;
  /**
   * Size in bytes of the event's JSON as received. A caller that holds the raw frame passes it so the
   * validator never serialises the event again; without it the size is measured only when needed.
   */
  byteLength?: number;
}

type EventRecord = Record<string, unknown>;

/** State of one validation: the issues so far (later checks skip the fields they name). */
interface Check {
  readonly record: EventRecord;
  readonly nowMs: number;
  readonly maxFutureSkewMs: number;
  readonly issues: ValidationIssue[];
  /** Position of each field in the schema: issues are reported in that order, unknown fields last. */
  readonly fieldOrder: ReadonlyMap<string, number>;
}

const fieldOrderOf = (fields: readonly string[]): ReadonlyMap<string, number> =>
  new Map(fields.map((field, index) => [field, index]));

const V1_FIELD_ORDER = fieldOrderOf(Object.keys(v1MessageSchema.shape));
const V2_ENVELOPE_ORDER = fieldOrderOf(Object.keys(v2EnvelopeSchema.shape));
const V2_FIELD_ORDER = {
  session_started: fieldOrderOf(Object.keys(V2_EVENT_SCHEMAS.session_started.shape)),
  location_ping: fieldOrderOf(Object.keys(V2_EVENT_SCHEMAS.location_ping.shape)),
  status_changed: fieldOrderOf(Object.keys(V2_EVENT_SCHEMAS.status_changed.shape)),
};

const REASON_STATUSES: readonly string[] = STATUSES_REQUIRING_REASON;

const V2_TYPES = Object.keys(V2_EVENT_SCHEMAS) as (keyof typeof V2_EVENT_SCHEMAS)[];

/**
 * The event type with a payload schema that `value` names, as the contract's own string. Comparing text is
 * cheap; indexing objects with the received string would first look it up in the engine's string table.
 */
function knownEventType(value: unknown): keyof typeof V2_EVENT_SCHEMAS | undefined {
  for (const type of V2_TYPES) if (type === value) return type;
  return undefined;
}

/** The compiled pre-check of each strict schema (`undefined`: zod alone decides for that schema). */
interface Prechecks {
  readonly v1: Precheck<V1Message> | undefined;
  readonly v2: { readonly [T in keyof typeof V2_EVENT_SCHEMAS]: Precheck<V2Event> | undefined };
}

let prechecks: Prechecks | undefined;

/** Compiled on first use: modules that import the contract without validating do not pay for it. */
function compiledPrechecks(): Prechecks {
  prechecks ??= {
    v1: compilePrecheck(v1MessageSchema),
    v2: {
      session_started: compilePrecheck(V2_EVENT_SCHEMAS.session_started),
      location_ping: compilePrecheck(V2_EVENT_SCHEMAS.location_ping),
      status_changed: compilePrecheck(V2_EVENT_SCHEMAS.status_changed),
    },
  };
  return prechecks;
}

/**
 * zod's `safeParse` of a strict event schema, answered by the schema's pre-check when it can: the pre-check
 * accepts only what zod accepts and returns what zod would, so zod runs only on events it turns down and
 * their issues stay zod's. Without a pre-check (the reference path) this is zod alone.
 */
function parseStrict<T>(
  schema: z.ZodType<T>,
  precheck: Precheck<T> | undefined,
  input: EventRecord,
): z.ZodSafeParseResult<T> {
  if (precheck?.passes(input)) return { success: true, data: precheck.value(input) };
  return schema.safeParse(input);
}

function isRecord(input: unknown): input is EventRecord {
  return typeof input === "object" && input !== null && !Array.isArray(input);
}

function own(record: EventRecord, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * `own(record, key) === value` for a defined value, reading the value first: positions are rarely 0, and
 * then the own-property lookup is skipped.
 */
function ownIs(record: EventRecord, key: string, value: unknown): boolean {
  return record[key] === value && Object.hasOwn(record, key);
}

function reject(issue: ValidationIssue): { ok: false; issues: ValidationIssue[] } {
  return { ok: false, issues: [issue] };
}

function notObject(input: unknown): ValidationIssue {
  const got =
    input === null ? "null" : Array.isArray(input) ? "an array" : `${typeof input} ${showValue(input)}`;
  return { field: "", rule: "not_object", message: `the event must be a JSON object (got ${got})` };
}

function maxSize(bytes: number): ValidationIssue {
  return {
    field: "",
    rule: "max_size",
    message: `the event is ${bytes} bytes of JSON; the limit is ${EVENT_LIMITS.maxEventBytes} bytes`,
  };
}

function maxDepth(): ValidationIssue {
  return {
    field: "",
    rule: "max_depth",
    message: `the event nests objects or arrays more than ${EVENT_LIMITS.maxEventDepth} levels deep`,
  };
}

/**
 * Whether `value` nests objects or arrays deeper than `limit` levels (the value itself is level 1). The walk
 * stops at the limit, so its cost is bounded by the value's size, never its depth: hostile input is told
 * apart here before anything recursive (JSON.stringify, a schema's issue messages) touches it.
 */
export function exceedsDepth(value: unknown, limit: number = EVENT_LIMITS.maxEventDepth): boolean {
  if (typeof value !== "object" || value === null) return false;
  let level: unknown[] = [value];
  for (let depth = 1; level.length > 0; depth += 1) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const node of level) {
      for (const child of Object.values(node as object)) {
        if (typeof child === "object" && child !== null) next.push(child);
      }
    }
    level = next;
  }
  return false;
}

/** Keys a for-in loop yields for a parsed JSON object: its own keys (a count, cheaper than naming them). */
function countKeys(record: EventRecord): number {
  let keys = 0;
  for (const _ in record) keys += 1;
  return keys;
}

function startCheck(
  record: EventRecord,
  options: ValidateOptions,
  issues: ValidationIssue[],
  fieldOrder: ReadonlyMap<string, number>,
): Check {
  return {
    fieldOrder,
    record,
    // An invalid `now` would silently disable the future rule; the real clock is the safe reading.
    nowMs: Number.isFinite(options.nowMs)
      ? options.nowMs!
      : Number.isFinite(options.now?.getTime())
        ? options.now!.getTime()
        : Date.now(),
    maxFutureSkewMs: options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS,
    issues,
  };
}

/** Whether a field already has an issue: the issues are few, and a set per event would cost more. */
function failed(check: Check, field: string): boolean {
  for (const issue of check.issues) if (issue.field === field) return true;
  return false;
}

function fail(check: Check, field: string, rule: string, message: string): void {
  check.issues.push({ field, rule, message });
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/**
 * Checks what zod cannot: the date exists, is not before the platform epoch and (for event times) not too
 * far in the future. Returns the time in ms when the field is valid.
 */
function checkTimestamp(check: Check, field: string, isEventTime: boolean): number | undefined {
  const text = own(check.record, field);
  if (failed(check, field) || typeof text !== "string") return undefined;
  const ms = parseTimestampMs(text);
  if (Number.isNaN(ms)) {
    fail(check, field, "timestamp_format", `${field} is not a real date and time (got ${showValue(text)})`);
    return undefined;
  }
  if (ms < PLATFORM_EPOCH) {
    const message = `${field} must not be before ${PLATFORM_EPOCH_ISO} (got ${showValue(text)})`;
    fail(check, field, "timestamp_before_epoch", message);
    return undefined;
  }
  const ahead = ms - check.nowMs;
  if (isEventTime && ahead > check.maxFutureSkewMs) {
    const message =
      `${field} must not be more than ${formatDuration(check.maxFutureSkewMs)} in the future ` +
      `(got ${showValue(text)}, ${formatDuration(ahead)} ahead of the server clock, ${new Date(check.nowMs).toISOString()})`;
    fail(check, field, "timestamp_future", message);
    return undefined;
  }
  return ms;
}

/** WGS84 0,0 is where devices without a fix report themselves: the contract treats it as no position. */
function checkPosition(check: Check, latField: string, lonField: string, optional: boolean): void {
  if (failed(check, latField) || failed(check, lonField)) return;
  if (!ownIs(check.record, latField, 0) || !ownIs(check.record, lonField, 0)) return;
  const fix = optional ? `send the real position or leave both out` : "send the real position";
  const message = `${latField} and ${lonField} are both 0, which means no position fix; ${fix}`;
  fail(check, latField, "missing_position", message);
}

/**
 * Returns the verdict. A structurally valid event is far below `maxEventBytes` (every string is bounded; a
 * unit test keeps it so), so without a caller-given `byteLength` the size is measured only on rejection.
 */
function finish<T>(check: Check, value: T | undefined, options: ValidateOptions): Validation<T> {
  if (check.issues.length === 0 && value !== undefined) return { ok: true, value };
  if (options.byteLength === undefined) {
    const bytes = jsonByteLength(check.record);
    if (bytes !== undefined && bytes > EVENT_LIMITS.maxEventBytes) return reject(maxSize(bytes));
  }
  const rank = (issue: ValidationIssue) => check.fieldOrder.get(issue.field) ?? check.fieldOrder.size;
  return { ok: false, issues: check.issues.sort((a, b) => rank(a) - rank(b)) };
}

function jsonByteLength(record: EventRecord): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(record), "utf8");
  } catch {
    // Not serialisable (a cycle or a BigInt from a non-JSON caller): the field issues already say why.
    return undefined;
  }
}

/** Validates one original 12-field message. */
export function validateV1(input: unknown, options: ValidateOptions = {}): Validation<V1Message> {
  return checkV1(input, options, true);
}

/** {@link validateV1} with zod alone deciding the structure: the reference for tests. @internal */
export function validateV1Reference(input: unknown, options: ValidateOptions = {}): Validation<V1Message> {
  return checkV1(input, options, false);
}

function checkV1(input: unknown, options: ValidateOptions, fast: boolean): Validation<V1Message> {
  if (!isRecord(input)) return reject(notObject(input));
  if (options.byteLength !== undefined && options.byteLength > EVENT_LIMITS.maxEventBytes) {
    return reject(maxSize(options.byteLength));
  }
  const parsed = parseStrict(v1MessageSchema, fast ? compiledPrechecks().v1 : undefined, input);
  // Fields the original devices add are accepted as they are, but bounded like the rest of the event:
  // they stay in the raw payload that bronze and silver read again. A valid message has the 12 fields, so
  // any key past them is an extra one.
  const extraFields = parsed.success ? countKeys(input) - V1_FIELD_ORDER.size : 0;
  if (!parsed.success || extraFields > 0) {
    if (exceedsDepth(input)) return reject(maxDepth());
    if (options.byteLength === undefined) {
      const bytes = jsonByteLength(input);
      if (bytes !== undefined && bytes > EVENT_LIMITS.maxEventBytes) return reject(maxSize(bytes));
    }
  }
  const check = startCheck(
    input,
    options,
    parsed.success ? [] : issuesFromZod(parsed.error.issues, input, "a v1 message"),
    V1_FIELD_ORDER,
  );
  checkTimestamp(check, "timestamp", true);
  checkPosition(check, "start_lat", "start_lon", false);
  checkPosition(check, "end_lat", "end_lon", false);
  checkPosition(check, "current_lat", "current_lon", false);
  const verdict = finish(check, parsed.data, options);
  return verdict.ok && extraFields > 0 ? { ...verdict, extraFields } : verdict;
}

/** Validates one v2 event (one element of a batch frame's `events`). */
export function validateV2(input: unknown, options: ValidateOptions = {}): Validation<V2Event> {
  return checkV2(input, options, true);
}

/** {@link validateV2} with zod alone deciding the structure: the reference for tests. @internal */
export function validateV2Reference(input: unknown, options: ValidateOptions = {}): Validation<V2Event> {
  return checkV2(input, options, false);
}

function checkV2(input: unknown, options: ValidateOptions, fast: boolean): Validation<V2Event> {
  if (!isRecord(input)) return reject(notObject(input));
  if (options.byteLength !== undefined && options.byteLength > EVENT_LIMITS.maxEventBytes) {
    return reject(maxSize(options.byteLength));
  }
  const type = knownEventType(own(input, "event_type"));
  if (type === undefined) {
    if (exceedsDepth(input)) return reject(maxDepth());
    // No payload schema to apply: report the event type and whatever else is wrong in the envelope.
    const envelope = v2EnvelopeSchema.safeParse(input);
    const check = startCheck(
      input,
      options,
      issuesFromZod(envelope.error?.issues ?? [], input, "a v2 event"),
      V2_ENVELOPE_ORDER,
    );
    checkTimestamp(check, "occurred_at", true);
    return finish<V2Event>(check, undefined, options);
  }
  const precheck = fast ? compiledPrechecks().v2[type] : undefined;
  const parsed = parseStrict<V2Event>(V2_EVENT_SCHEMAS[type], precheck, input);
  if (!parsed.success && exceedsDepth(input)) return reject(maxDepth());
  const check = startCheck(
    input,
    options,
    parsed.success ? [] : issuesFromZod(parsed.error.issues, input, `a ${type} event`),
    V2_FIELD_ORDER[type],
  );
  const occurredMs = checkTimestamp(check, "occurred_at", true);
  switch (type) {
    case "session_started": {
      const promisedMs = checkTimestamp(check, "promised_at", false);
      if (occurredMs !== undefined && promisedMs !== undefined && promisedMs <= occurredMs) {
        const message =
          `promised_at must be after occurred_at (got promised_at ${showValue(input.promised_at)}, ` +
          `occurred_at ${showValue(input.occurred_at)})`;
        fail(check, "promised_at", "promised_before_start", message);
      }
      checkPosition(check, "pickup_lat", "pickup_lon", false);
      checkPosition(check, "dropoff_lat", "dropoff_lon", false);
      break;
    }
    case "location_ping":
      checkPosition(check, "lat", "lon", false);
      break;
    case "status_changed":
      checkReason(check);
      checkOptionalPosition(check);
      break;
  }
  return finish(check, parsed.data, options);
}

function checkReason(check: Check): void {
  if (failed(check, "status") || failed(check, "reason")) return;
  const status = String(own(check.record, "status"));
  const reason = own(check.record, "reason");
  if (REASON_STATUSES.includes(status)) {
    if (typeof reason !== "string" || reason.trim() === "") {
      const got = reason === undefined ? "" : ` (got ${showValue(reason)})`;
      fail(check, "reason", "reason_required", `reason must say why when status is ${status}${got}`);
    }
  } else if (reason !== undefined) {
    const message = `reason is only allowed when status is ${REASON_STATUSES.join(" or ")} (got status ${status})`;
    fail(check, "reason", "reason_forbidden", message);
  }
}

/** `status_changed` may carry a position, but only a whole one. */
function checkOptionalPosition(check: Check): void {
  const hasLat = own(check.record, "lat") !== undefined;
  const hasLon = own(check.record, "lon") !== undefined;
  if (hasLat && !hasLon && !failed(check, "lat")) {
    fail(check, "lon", "required", "lon is required when lat is given");
  } else if (hasLon && !hasLat && !failed(check, "lon")) {
    fail(check, "lat", "required", "lat is required when lon is given");
  } else if (hasLat && hasLon) {
    checkPosition(check, "lat", "lon", true);
  }
}
