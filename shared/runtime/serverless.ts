import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import { z } from "zod";
import { EventSourceConfigError } from "./errors.ts";
import type { EventSourceSpec } from "./types.ts";

/**
 * serverless.yml is the single source of wiring. The runtime reads the file itself and resolves the few
 * variable sources this project uses (`env:`, `opt:stage`, `sls:stage`, `self:`, `param:`, quoted and
 * numeric fallbacks) rather than running `serverless print`: start-up stays in milliseconds, works without
 * the framework installed (npm start, tests) and cannot hang on the framework's own start-up. Under
 * `serverless offline` the plugin hands over the framework's fully resolved service instead, so that path
 * is exact. See docs/decisions/005-event-source-runtime.md.
 */

export interface ServerlessService {
  service?: string;
  provider?: { timeout?: number; stage?: string; [key: string]: unknown };
  functions?: Record<
    string,
    { handler?: string; timeout?: number; events?: unknown[]; [key: string]: unknown }
  >;
  [key: string]: unknown;
}

export interface LoadServerlessOptions {
  env?: Record<string, string | undefined>;
  stage?: string;
}

// CloudFormation intrinsic tags (!GetAtt, !Ref, ...) are kept as plain objects; the runtime never reads them.
const cloudFormationTags = ["Ref", "GetAtt", "Sub", "Join", "Select", "Split", "ImportValue", "If", "Equals"];
const schema = yaml.DEFAULT_SCHEMA.extend(
  cloudFormationTags.flatMap((tag) =>
    (["scalar", "sequence", "mapping"] as const).map(
      (kind) => new yaml.Type(`!${tag}`, { kind, construct: (data) => ({ [`Fn::${tag}`]: data }) }),
    ),
  ),
);

/** Reads and resolves serverless.yml (or another file in the same format). */
export function loadServerlessFile(file: string, options: LoadServerlessOptions = {}): ServerlessService {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new EventSourceConfigError(`Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseServerlessYaml(text, options, file);
}

export function parseServerlessYaml(
  text: string,
  options: LoadServerlessOptions = {},
  filename = "serverless.yml",
): ServerlessService {
  let raw: unknown;
  try {
    raw = yaml.load(text, { schema, filename });
  } catch (error) {
    throw new EventSourceConfigError(`${filename} is not valid YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof raw !== "object" || raw === null) throw new EventSourceConfigError(`${filename} is empty`);
  return resolveVariables(raw as ServerlessService, options);
}

const VARIABLE = /\$\{([^${}]+)\}/;

/** Resolves `${...}` in every string of the document (innermost first, so nested variables work). */
export function resolveVariables(
  doc: ServerlessService,
  options: LoadServerlessOptions = {},
): ServerlessService {
  const env = options.env ?? process.env;
  const lookupPath = (path: string): unknown =>
    path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
  let stage = options.stage;
  const source = (reference: string): unknown => {
    const ref = reference.trim();
    const quoted = /^'(.*)'$|^"(.*)"$/.exec(ref);
    if (quoted) return quoted[1] ?? quoted[2];
    if (/^-?\d+(\.\d+)?$/.test(ref)) return Number(ref);
    // `${env:X, null}`: no value, as the framework resolves it (an optional setting left out).
    if (ref === "null") return null;
    const [kind, ...rest] = ref.split(":");
    const address = rest.join(":");
    switch (kind) {
      case "env":
        return env[address];
      case "opt":
        return address === "stage" ? options.stage : undefined;
      case "sls":
        return address === "stage" ? stage : undefined;
      case "self":
        return resolveValue(lookupPath(address));
      case "param": {
        const params = (doc.params ?? {}) as Record<string, Record<string, unknown>>;
        return resolveValue(params[stage ?? ""]?.[address] ?? params.default?.[address]);
      }
      default:
        return undefined;
    }
  };
  const resolveExpression = (expression: string): unknown => {
    for (const candidate of splitTopLevel(expression)) {
      const value = source(candidate);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const resolveValue = (value: unknown): unknown => {
    if (typeof value === "string") {
      let text = value;
      for (let match = VARIABLE.exec(text); match; match = VARIABLE.exec(text)) {
        const resolved = resolveExpression(match[1]!);
        if (resolved === undefined) {
          throw new EventSourceConfigError(
            `serverless.yml: cannot resolve \${${match[1]}} (set the variable or give a fallback)`,
          );
        }
        if (match[0] === text) return resolved;
        text = text.replace(match[0], String(resolved));
      }
      return text;
    }
    if (Array.isArray(value)) return value.map(resolveValue);
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveValue(item)]));
    }
    return value;
  };
  stage ??= String(resolveValue(doc.provider?.stage ?? "dev"));
  return {
    ...doc,
    service: resolveValue(doc.service) as string | undefined,
    provider: resolveValue(doc.provider) as ServerlessService["provider"],
    functions: resolveValue(doc.functions) as ServerlessService["functions"],
    custom: resolveValue(doc.custom),
  };
}

/** Splits `a, 'b,c', d` on commas outside quotes. */
function splitTopLevel(expression: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (const char of expression) {
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === ",") {
      parts.push(current);
      current = "";
      continue;
    }
    current += char;
  }
  parts.push(current);
  return parts;
}

const startingPosition = z.enum(["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]).default("TRIM_HORIZON");

/** Settings shared by `msk` and `kafka` events (Lambda's names and ranges; locally ages below 60 s are allowed). */
const commonEventFields = {
  topic: z.string().min(1),
  batchSize: z.coerce.number().int().min(1).max(10_000).default(100),
  maximumBatchingWindow: z.coerce.number().min(0).max(300).optional(),
  startingPosition,
  startingPositionTimestamp: z.coerce.number().optional(),
  consumerGroupId: z.string().min(1).max(200).optional(),
  enabled: z.boolean().default(true),
  functionResponseTypes: z.array(z.literal("ReportBatchItemFailures")).optional(),
  maximumRetryAttempts: z.coerce.number().int().min(-1).max(10_000).default(-1),
  maximumRecordAgeInSeconds: z.coerce.number().int().min(-1).max(604_800).default(-1),
  bisectBatchOnFunctionError: z.boolean().default(false),
  destinationConfig: z
    .object({
      onFailure: z.object({
        destination: z.string().regex(/^kafka:\/\/[a-zA-Z0-9._-]{1,249}$/, "must be kafka://<topic>"),
      }),
    })
    .optional(),
};

const mskEventSchema = z.looseObject({ ...commonEventFields, arn: z.unknown().optional() });
const kafkaEventSchema = z.looseObject({
  ...commonEventFields,
  bootstrapServers: z.array(z.string()).min(1).optional(),
});

export interface SpecDefaults {
  /** Brokers reported in `bootstrapServers` of msk events (the event log's, when it is Kafka). */
  bootstrapServers?: string;
}

/** Every `msk` / `kafka` event of every function, validated, with Lambda's defaults. */
export function eventSourceSpecs(service: ServerlessService, defaults: SpecDefaults = {}): EventSourceSpec[] {
  const specs: EventSourceSpec[] = [];
  const serviceName = service.service ?? "service";
  for (const [functionName, fn] of Object.entries(service.functions ?? {})) {
    for (const [index, event] of (fn.events ?? []).entries()) {
      if (typeof event !== "object" || event === null) continue;
      const kind = "msk" in event ? "msk" : "kafka" in event ? "kafka" : undefined;
      if (!kind) continue;
      const where = `functions.${functionName}.events[${index}].${kind}`;
      if (!fn.handler) throw new EventSourceConfigError(`functions.${functionName} has no handler`);
      const parsed = (kind === "msk" ? mskEventSchema : kafkaEventSchema).safeParse(
        (event as Record<string, unknown>)[kind],
      );
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `  ${where}.${i.path.join(".")}: ${i.message}`);
        throw new EventSourceConfigError(`Invalid event source in serverless.yml:\n${issues.join("\n")}`);
      }
      const e = parsed.data as z.infer<typeof kafkaEventSchema> & { arn?: unknown };
      if (e.startingPosition === "AT_TIMESTAMP" && e.startingPositionTimestamp === undefined) {
        throw new EventSourceConfigError(`${where}: startingPositionTimestamp is required with AT_TIMESTAMP`);
      }
      const onFailureTopic = e.destinationConfig?.onFailure.destination.slice("kafka://".length);
      if (onFailureTopic === e.topic) {
        throw new EventSourceConfigError(`${where}: the on-failure topic must differ from the source topic`);
      }
      specs.push({
        functionName,
        handler: fn.handler,
        timeoutSeconds: Number(fn.timeout ?? service.provider?.timeout ?? 6),
        kind,
        topic: e.topic,
        consumerGroupId: e.consumerGroupId ?? `${serviceName}-${functionName}`,
        batchSize: e.batchSize,
        maximumBatchingWindowMs:
          e.maximumBatchingWindow === undefined ? 500 : Math.round(e.maximumBatchingWindow * 1000),
        startingPosition: e.startingPosition,
        startingPositionTimestampMs:
          e.startingPositionTimestamp === undefined ? undefined : e.startingPositionTimestamp * 1000,
        eventSourceArn:
          kind === "msk"
            ? typeof e.arn === "string"
              ? e.arn
              : `arn:aws:kafka:local:000000000000:cluster/${serviceName}/local`
            : undefined,
        bootstrapServers:
          kind === "kafka" && e.bootstrapServers
            ? e.bootstrapServers.join(",")
            : (defaults.bootstrapServers ?? "localhost:9092"),
        reportBatchItemFailures: e.functionResponseTypes?.includes("ReportBatchItemFailures") ?? false,
        maximumRetryAttempts: e.maximumRetryAttempts,
        maximumRecordAgeInSeconds: e.maximumRecordAgeInSeconds,
        bisectBatchOnFunctionError: e.bisectBatchOnFunctionError,
        onFailureTopic,
        enabled: e.enabled,
      });
    }
  }
  return specs;
}
