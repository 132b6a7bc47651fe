import { z } from "zod";
import { matchesTimestampPattern, TIMESTAMP_PATTERN } from "./timestamp.ts";
import { isUuid, UUID_PATTERN } from "./uuid.ts";

/**
 * A compiled yes/no answer to "would zod accept this event?", for the validators' hot path. zod's per-check
 * machinery costs more than the checks themselves; the same checks, compiled from the JSON Schema that
 * `z.toJSONSchema` renders of the schema, cost a fraction. The pre-check only ever says yes to input zod
 * accepts: input it turns down goes through zod as before, so every issue still comes from zod. The schema
 * is compiled here rather than by ajv, which was a fifth slower on a valid event
 * (docs/decisions/013-fast-contract-validation.md).
 */
export interface Precheck<T> {
  /** True only when the schema's `safeParse` would succeed on `input`. */
  passes(input: Record<string, unknown>): boolean;
  /** What `safeParse` returns for input that passes: a new object of the schema's fields in `input`, in schema order. */
  value(input: Record<string, unknown>): T;
}

/**
 * An object schema the pre-check can compile: strict (unknown keys are an issue, as in v2) or stripping
 * (unknown keys are dropped from the value, as in v1, whose original devices send fields of their own).
 */
// biome-ignore lint/suspicious/noExplicitAny: any strict or stripping object schema, whatever its fields.
type ObjectSchema = z.ZodObject<any, z.core.$strict | z.core.$strip>;

type Def = Record<string, unknown>;

/** The `when` zod gives every length check (skip values without a length); no other `when` is understood. */
const DEFAULT_LENGTH_WHEN = String(
  (z.string().max(1)._zod.def.checks?.[0]?._zod.def as Def | undefined)?.when,
);

/**
 * Each understood check: its zod classes (not a subclass that checks more) and the keys its definition
 * may have; `error` and `abort` change messages and what else is reported, never the verdict.
 */
const CHECKS: Readonly<Record<string, { traits: readonly string[]; keys: readonly string[] }>> = {
  min_length: { traits: ["$ZodCheckMinLength"], keys: ["check", "minimum", "when", "error", "abort"] },
  max_length: { traits: ["$ZodCheckMaxLength"], keys: ["check", "maximum", "when", "error", "abort"] },
  string_format: {
    traits: ["$ZodCheckRegex", "$ZodCheckStringFormat"],
    keys: ["check", "format", "pattern", "error", "abort"],
  },
  greater_than: { traits: ["$ZodCheckGreaterThan"], keys: ["check", "value", "inclusive", "error", "abort"] },
  less_than: { traits: ["$ZodCheckLessThan"], keys: ["check", "value", "inclusive", "error", "abort"] },
};

const STRING_CHECKS: ReadonlySet<string> = new Set(["min_length", "max_length", "string_format"]);
const NUMBER_CHECKS: ReadonlySet<string> = new Set(["greater_than", "less_than"]);

function onlyKeys(object: object, allowed: readonly string[]): boolean {
  return Object.keys(object).every((key) => allowed.includes(key));
}

/** The core zod classes of a schema or check are exactly these, with no subclass adding rules (`exactOptional`). */
function hasTraits(item: { _zod: object }, expected: readonly string[]): boolean {
  const all = (item._zod as { traits?: Set<string> }).traits ?? new Set<string>();
  const traits = [...all].filter((name) => name.startsWith("$"));
  return traits.length === expected.length && expected.every((trait) => traits.includes(trait));
}

function isExactly(schema: z.core.$ZodType, trait: string): boolean {
  return hasTraits(schema, [trait, "$ZodType"]);
}

function representableCheck(check: z.core.$ZodCheck, kinds: ReadonlySet<string>): boolean {
  const def = check._zod.def as unknown as Def;
  const kind = String(def.check);
  const known = CHECKS[kind];
  if (!kinds.has(kind) || known === undefined || !onlyKeys(def, known.keys)) return false;
  if (!hasTraits(check, [...known.traits, "$ZodCheck"])) return false;
  if (def.when !== undefined && String(def.when) !== DEFAULT_LENGTH_WHEN) return false;
  switch (kind) {
    case "string_format":
      return def.format === "regex" && def.pattern instanceof RegExp && def.pattern.flags === "";
    case "greater_than":
    case "less_than":
      return Number.isFinite(def.value) && typeof def.inclusive === "boolean";
    default:
      return Number.isSafeInteger(def.minimum ?? def.maximum);
  }
}

/**
 * Whether the field's JSON Schema says exactly what zod checks. `z.toJSONSchema` leaves out what it cannot
 * express (a refinement, a transform, coercion), so anything not known to be expressed in full turns the
 * pre-check off for the whole schema.
 */
function representableField(field: z.core.$ZodType, optionalAllowed: boolean): boolean {
  const def = field._zod.def as unknown as Def;
  const checks = (def.checks ?? []) as z.core.$ZodCheck[];
  switch (def.type) {
    case "optional":
      return (
        optionalAllowed &&
        isExactly(field, "$ZodOptional") &&
        onlyKeys(def, ["type", "innerType"]) &&
        representableField(def.innerType as z.core.$ZodType, false)
      );
    case "string":
      return (
        isExactly(field, "$ZodString") &&
        onlyKeys(def, ["type", "checks"]) &&
        checks.every((check) => representableCheck(check, STRING_CHECKS))
      );
    case "number":
      return (
        isExactly(field, "$ZodNumber") &&
        onlyKeys(def, ["type", "checks"]) &&
        checks.every((check) => representableCheck(check, NUMBER_CHECKS))
      );
    case "literal":
      return (
        isExactly(field, "$ZodLiteral") &&
        onlyKeys(def, ["type", "values"]) &&
        (def.values as unknown[]).every((value) => typeof value === "string" || Number.isFinite(value))
      );
    case "enum":
      return (
        isExactly(field, "$ZodEnum") &&
        onlyKeys(def, ["type", "entries"]) &&
        Object.values(def.entries as object).every((value) => typeof value === "string")
      );
    default:
      return false;
  }
}

function representable(schema: ObjectSchema): boolean {
  const def = schema._zod.def as unknown as Def;
  const shape: object = schema.shape;
  const catchall = schema._zod.def.catchall;
  return (
    onlyKeys(def, ["type", "shape", "catchall"]) &&
    (catchall === undefined || catchall._zod.def.type === "never") &&
    Object.getOwnPropertySymbols(shape).length === 0 &&
    !Object.hasOwn(shape, "__proto__") &&
    Object.values(shape).every((field: z.core.$ZodType) => representableField(field, true))
  );
}

/** A `pattern` test: zod's regex (no flags), or for the contract's two patterns an exact equivalent by hand. */
interface PatternTest {
  test(text: string): boolean;
}

const patternTests = new Map<string, PatternTest>();

function patternTest(source: string): PatternTest {
  let test = patternTests.get(source);
  if (test === undefined) {
    if (source === TIMESTAMP_PATTERN.source) test = { test: matchesTimestampPattern };
    else if (source === UUID_PATTERN.source) test = { test: isUuid };
    else test = new RegExp(source);
    patternTests.set(source, test);
  }
  return test;
}

/** JSON Schema keywords of a field that the compiler turns into code, by type; any other stops it. */
const FIELD_KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  string: ["type", "pattern", "minLength", "maxLength", "const", "enum"],
  number: ["type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "const", "enum"],
};

const literal = (value: unknown): string => JSON.stringify(value);

/**
 * The conditions under which one field's value `v` fails, as JS source, or `undefined` for a field schema
 * the compiler does not know. Each keyword is read as zod checks it: a number is finite (`z.number()`
 * refuses NaN and Infinity), and a length counts code points with zod's own `codePointLength` (a surrogate
 * pair is one), which is needed only where the UTF-16 `.length` cannot decide (a pair is two units).
 */
function failures(field: Record<string, unknown>, v: string, patterns: PatternTest[]): string[] | undefined {
  const type = String(field.type);
  if (!onlyKeys(field, FIELD_KEYWORDS[type] ?? [])) return undefined;
  const conditions =
    type === "string" ? [`typeof ${v} !== "string"`] : [`typeof ${v} !== "number" || !Number.isFinite(${v})`];
  let known = true;
  const bound = (limit: unknown, condition: (limit: string) => string) => {
    if (limit === undefined) return;
    if (Number.isFinite(limit)) conditions.push(condition(literal(limit)));
    else known = false;
  };
  bound(
    field.minLength,
    (limit) => `(${v}.length < ${limit} || (${v}.length < 2 * ${limit} && codePointLength(${v}) < ${limit}))`,
  );
  bound(field.maxLength, (limit) => `(${v}.length > ${limit} && codePointLength(${v}) > ${limit})`);
  bound(field.minimum, (limit) => `${v} < ${limit}`);
  bound(field.maximum, (limit) => `${v} > ${limit}`);
  bound(field.exclusiveMinimum, (limit) => `${v} <= ${limit}`);
  bound(field.exclusiveMaximum, (limit) => `${v} >= ${limit}`);
  if (field.pattern !== undefined) {
    if (typeof field.pattern !== "string") return undefined;
    patterns.push(patternTest(field.pattern));
    conditions.push(`!patterns[${patterns.length - 1}].test(${v})`);
  }
  if (field.const !== undefined && field.enum !== undefined) return undefined;
  const allowed = field.const !== undefined ? [field.const] : field.enum;
  if (allowed !== undefined) {
    const ofType = (value: unknown) =>
      type === "string" ? typeof value === "string" : Number.isFinite(value);
    if (!Array.isArray(allowed) || allowed.length === 0 || !allowed.every(ofType)) return undefined;
    conditions.push(`(${allowed.map((value) => `${v} !== ${literal(value)}`).join(" && ")})`);
  }
  return known ? conditions : undefined;
}

const sameList = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((item, index) => item === b[index]);

/**
 * The JSON Schema of an object schema compiled to one function, or `undefined` for a schema it cannot read
 * or whose fields are not exactly the shape's (same names, the same ones required).
 */
function compileSchema(
  jsonSchema: Record<string, unknown>,
  schema: ObjectSchema,
): ((input: Record<string, unknown>) => boolean) | undefined {
  const { type, properties, required, additionalProperties, ...rest } = jsonSchema;
  const strict = schema._zod.def.catchall !== undefined;
  // A stripping object's input schema says nothing of other keys; a strict one forbids them.
  if (type !== "object" || additionalProperties !== (strict ? false : undefined)) return undefined;
  if (Object.keys(rest).length > 0) return undefined;
  if (typeof properties !== "object" || properties === null || !Array.isArray(required)) return undefined;
  const fields = Object.entries(properties as Record<string, Record<string, unknown>>);
  const shape = Object.entries(schema.shape as Record<string, z.core.$ZodType>);
  const shapeRequired = shape.filter(([, field]) => field._zod.def.type !== "optional").map(([key]) => key);
  if (!sameList(Object.keys(properties), Object.keys(schema.shape)) || !sameList(required, shapeRequired)) {
    return undefined;
  }
  const patterns: PatternTest[] = [];
  const cases = fields.map(([key]) => `case ${literal(key)}:`).join(" ");
  // zod reports every key a for-in loop yields and the shape lacks; a value is read as `input[key]`.
  const lines = strict
    ? [`for (const key in input) switch (key) { ${cases} continue; default: return false; }`]
    : [];
  for (const [index, [key, field]] of fields.entries()) {
    const v = `v${index}`;
    const conditions = typeof field === "object" && field !== null ? failures(field, v, patterns) : undefined;
    if (conditions === undefined) return undefined;
    // An optional field may be absent or undefined; a required one fails its type check then.
    const optional = required.includes(key) ? "" : `${v} !== undefined && `;
    lines.push(`const ${v} = input[${literal(key)}];`);
    lines.push(`if (${optional}(${conditions.join(" || ")})) return false;`);
  }
  lines.push("return true;");
  const source = `return (input) => {\n${lines.join("\n")}\n};`;
  return new Function("patterns", "codePointLength", source)(patterns, z.core.util.codePointLength);
}

/**
 * The copy zod's parse makes of input it accepts: every field of the shape that is `in` the input (an
 * optional field given as `undefined` is kept), in shape order. Generated, as zod's own parser is, and as
 * one object literal up to the first optional field: a loop over the keys costs about as much as the
 * pre-check, and property-by-property stores cost a third more than the literal.
 */
function compileCopy(schema: ObjectSchema): (input: Record<string, unknown>) => Record<string, unknown> {
  const fields = Object.entries(schema.shape).map(([key, field]) => ({
    key: literal(key),
    optional: (field as z.core.$ZodType)._zod.def.type === "optional",
  }));
  const leading = fields.findIndex((field) => field.optional);
  const literalFields = leading === -1 ? fields : fields.slice(0, leading);
  const lines = [`const value = { ${literalFields.map(({ key }) => `${key}: input[${key}]`).join(", ")} };`];
  for (const { key, optional } of fields.slice(literalFields.length)) {
    lines.push(`${optional ? `if (${key} in input) ` : ""}value[${key}] = input[${key}];`);
  }
  lines.push("return value;");
  return new Function("input", lines.join("\n")) as (
    input: Record<string, unknown>,
  ) => Record<string, unknown>;
}

/**
 * The pre-check of a strict or stripping object schema, or `undefined` when its JSON Schema would not say exactly what
 * zod checks: the caller then uses zod alone. An empty metadata registry keeps descriptions, examples and
 * the documentation-only rules (`allOf`, `dependentRequired`) out: only what zod itself checks remains.
 */
export function compilePrecheck<T>(schema: ObjectSchema): Precheck<T> | undefined {
  if (!representable(schema)) return undefined;
  const { $schema: _, ...jsonSchema } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    metadata: z.registry(),
  });
  try {
    const passes = compileSchema(jsonSchema, schema);
    if (passes === undefined) return undefined;
    return { passes, value: compileCopy(schema) as (input: Record<string, unknown>) => T };
  } catch (error) {
    // Code generation refused (`--disallow-code-generation-from-strings`, a strict CSP): zod alone decides.
    if (error instanceof EvalError) return undefined;
    throw error;
  }
}
