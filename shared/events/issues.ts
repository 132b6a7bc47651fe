import type { z } from "zod";
import { TIMESTAMP_PATTERN } from "./timestamp.ts";
import { UUID_PATTERN } from "./uuid.ts";

/**
 * One reason an event was rejected. `field` is the field's name relative to the event (`current_lat`), or
 * `""` when the issue is about the event as a whole (`not_object`, `max_size`).
 */
export interface ValidationIssue {
  field: string;
  rule: string;
  message: string;
}

/**
 * A validator's verdict. `extraFields` is set on an accepted v1 message that carried fields besides the 12
 * (how many); they are not in `value`.
 */
export type Validation<T> =
  | { ok: true; value: T; extraFields?: number }
  | { ok: false; issues: ValidationIssue[] };

/** Every rule the validators report, as documented in docs/events.md. */
export const VALIDATION_RULES = [
  "not_object",
  "max_size",
  "max_depth",
  "required",
  "type",
  "unknown_field",
  "enum",
  "uuid",
  "range",
  "missing_position",
  "timestamp_format",
  "timestamp_future",
  "timestamp_before_epoch",
  "promised_before_start",
  "max_length",
  "min_length",
  "reason_required",
  "reason_forbidden",
  "max_items",
  "min_items",
  "invalid",
] as const;

export type ValidationRule = (typeof VALIDATION_RULES)[number];

const MAX_SHOWN_CHARS = 40;

/** A short rendering of a received value for messages: replies stay small whatever the device sent. */
export function showValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return typeof value;
}

/** Like {@link showValue}, with the JSON type spelled out: `string "37.9"`, `null`, `an array`. */
function showTyped(value: unknown): string {
  if (typeof value === "string") return `string ${showValue(value)}`;
  if (typeof value === "boolean") return `boolean ${value}`;
  return showValue(value);
}

const EXPECTED: Record<string, string> = {
  number: "a finite number",
  string: "a string",
  object: "a JSON object",
  array: "an array",
  boolean: "true or false",
};

const FORMAT_RULES = new Map<string, { rule: ValidationRule; expected: string }>([
  [String(UUID_PATTERN), { rule: "uuid", expected: "a UUID such as 3f2b8c1e-6d4a-4e8b-9c2f-1a7d5e9b0c34" }],
  [
    String(TIMESTAMP_PATTERN),
    { rule: "timestamp_format", expected: "an ISO-8601 date-time such as 2024-05-01T10:30:00Z" },
  ],
]);

function ownValue(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Turns zod issues about a flat event into contract issues: one per field (the first rule broken), with a
 * message that names the field, the rule and the value received. `subject` names the event in
 * unknown-field messages ("a v1 message", "a location_ping event").
 */
export function issuesFromZod(
  zodIssues: readonly z.core.$ZodIssue[],
  input: Record<string, unknown>,
  subject: string,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  const add = (issue: ValidationIssue) => {
    if (seen.has(issue.field)) return;
    seen.add(issue.field);
    issues.push(issue);
  };
  for (const zodIssue of zodIssues) {
    const field = zodIssue.path.map(String).join(".");
    if (zodIssue.code === "unrecognized_keys") {
      for (const key of zodIssue.keys) {
        const path = field === "" ? key : `${field}.${key}`;
        add({ field: path, rule: "unknown_field", message: `${path} is not a field of ${subject}` });
      }
      continue;
    }
    const value = zodIssue.path.length === 1 ? ownValue(input, String(zodIssue.path[0])) : undefined;
    add(describeIssue(zodIssue, field, value));
  }
  return issues;
}

function describeIssue(zodIssue: z.core.$ZodIssue, field: string, value: unknown): ValidationIssue {
  // A missing field fails its type, enum or literal check; say what is actually wrong.
  if (value === undefined && field !== "")
    return { field, rule: "required", message: `${field} is required` };
  switch (zodIssue.code) {
    case "invalid_type":
      return {
        field,
        rule: "type",
        message: `${field} must be ${EXPECTED[zodIssue.expected] ?? zodIssue.expected} (got ${showTyped(value)})`,
      };
    case "invalid_value": {
      const allowed = zodIssue.values.map((v) => String(v));
      const expected = allowed.length === 1 ? allowed[0] : `one of ${allowed.join(", ")}`;
      return { field, rule: "enum", message: `${field} must be ${expected} (got ${showValue(value)})` };
    }
    case "invalid_union": {
      // Only a discriminated union reaches here: its discriminator is unknown.
      const options = "options" in zodIssue && Array.isArray(zodIssue.options) ? zodIssue.options : [];
      return {
        field,
        rule: "enum",
        message: `${field} must be one of ${options.map(String).join(", ")} (got ${showValue(value)})`,
      };
    }
    case "too_big":
    case "too_small":
      return describeBoundIssue(zodIssue, field, value);
    case "invalid_format": {
      const format = zodIssue.format === "regex" ? FORMAT_RULES.get(zodIssue.pattern ?? "") : undefined;
      if (format === undefined) {
        return { field, rule: "invalid", message: `${field} is invalid (got ${showValue(value)})` };
      }
      return {
        field,
        rule: format.rule,
        message: `${field} must be ${format.expected} (got ${showValue(value)})`,
      };
    }
    default:
      return { field, rule: "invalid", message: `${field} is invalid: ${zodIssue.message}` };
  }
}

function describeBoundIssue(
  zodIssue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall,
  field: string,
  value: unknown,
): ValidationIssue {
  if (zodIssue.origin === "string") {
    const length = typeof value === "string" ? value.length : 0;
    if (zodIssue.code === "too_big") {
      return {
        field,
        rule: "max_length",
        message: `${field} must be at most ${zodIssue.maximum} characters (got ${length})`,
      };
    }
    const message =
      zodIssue.minimum === 1
        ? `${field} must not be empty`
        : `${field} must be at least ${zodIssue.minimum} characters (got ${length})`;
    return { field, rule: "min_length", message };
  }
  if (zodIssue.origin === "array") {
    const count = Array.isArray(value) ? value.length : 0;
    return zodIssue.code === "too_big"
      ? {
          field,
          rule: "max_items",
          message: `${field} must hold at most ${zodIssue.maximum} items (got ${count})`,
        }
      : {
          field,
          rule: "min_items",
          message: `${field} must hold at least ${zodIssue.minimum} item${zodIssue.minimum === 1 ? "" : "s"}`,
        };
  }
  // Numbers: the schema's message already states both bounds ("must be between -90 and 90").
  return { field, rule: "range", message: `${field} ${zodIssue.message} (got ${showValue(value)})` };
}

/** A consumed record turned down, with every reason (the shape both consumers' verdicts share). */
export interface RecordRejection {
  ok: false;
  schemaVersion: 1 | 2;
  issues: ValidationIssue[];
}

/**
 * `check(input)`, with a throw turned into that record's rejection (rule `invalid`): a check that throws on
 * what a record holds (a bug, or an input no rule foresaw) must not fail its batch, which would be retried for
 * ever and stop its partition.
 */
export function rejectingThrows<I, V>(check: (input: I) => V, input: I): V | RecordRejection {
  try {
    return check(input);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return {
      ok: false,
      schemaVersion: 2,
      issues: [{ field: "", rule: "invalid", message: `the record could not be checked (${message})` }],
    };
  }
}
