import { z } from "zod";
import {
  locationPingSchema,
  sessionStartedSchema,
  statusChangedSchema,
  TIMESTAMP_PATTERN,
  v1MessageSchema,
} from "#shared/events/index.ts";
import type { ColumnSpec, PartitionSpec, PrimitiveType, Schema } from "#shared/iceberg/index.ts";
import { IcebergError } from "#shared/iceberg/index.ts";

/**
 * The bronze table's columns. Every field of the event contract (v1 and v2, from the zod schemas in
 * shared/events) is a typed column named as in the contract, so a field added to the contract becomes a
 * column on the next start (the table gains it as an optional column; older files read it as null).
 * Around them: the event's time (the partition source), the raw payload and the Kafka coordinates.
 */

/** The contract's object schemas; their fields, in this order, are the contract's columns. */
const CONTRACT_SCHEMAS = [
  sessionStartedSchema,
  locationPingSchema,
  statusChangedSchema,
  v1MessageSchema,
] as const;

/** Contract fields every bronze row has (v1 rows get the derived id, `v1_message` and version 1). */
const ALWAYS_PRESENT = new Set([
  "event_id",
  "event_type",
  "schema_version",
  "device_id",
  "vehicle_id",
  "session_id",
  "order_id",
]);

/** The Iceberg type of one contract field, from its JSON Schema. */
export function contractFieldType(field: z.ZodType): PrimitiveType {
  const json = z.toJSONSchema(field, { io: "input", unrepresentable: "any" }) as {
    type?: string;
    pattern?: string;
    const?: unknown;
  };
  if (json.type === "string") return json.pattern === TIMESTAMP_PATTERN.source ? "timestamptz" : "string";
  if (json.type === "integer") return "long";
  if (json.type === "number")
    return typeof json.const === "number" && Number.isInteger(json.const) ? "int" : "double";
  if (json.type === "boolean") return "boolean";
  throw new IcebergError(`contract field of JSON Schema type ${String(json.type)} has no bronze column type`);
}

/** The contract's fields as columns, in order of first appearance; a field typed differently fails. */
export function contractColumns(schemas: readonly z.ZodObject[] = [...CONTRACT_SCHEMAS]): ColumnSpec[] {
  const columns = new Map<string, ColumnSpec>();
  for (const schema of schemas) {
    for (const [name, field] of Object.entries(schema.shape)) {
      const type = contractFieldType(field as z.ZodType);
      const known = columns.get(name);
      if (known && known.type !== type) {
        throw new IcebergError(
          `contract field ${name} is ${known.type} in one event type and ${type} in another`,
        );
      }
      if (!known) {
        const doc = (field as z.ZodType).meta()?.description;
        columns.set(name, { name, type, required: ALWAYS_PRESENT.has(name), ...(doc ? { doc } : {}) });
      }
    }
  }
  return [...columns.values()];
}

/** Columns PacketPulse adds around the contract's fields. */
export const PLATFORM_COLUMNS = {
  eventTime: {
    name: "event_time",
    type: "timestamptz",
    required: true,
    doc: "When the event happened (v2 occurred_at, v1 timestamp); the table is partitioned by its day.",
  },
  payload: {
    name: "payload",
    type: "string",
    required: true,
    doc: "The record's value as received on the sessions topic (UTF-8 JSON).",
  },
  kafkaTopic: { name: "kafka_topic", type: "string", required: true },
  kafkaPartition: { name: "kafka_partition", type: "int", required: true },
  kafkaOffset: { name: "kafka_offset", type: "long", required: true },
  kafkaTimestamp: {
    name: "kafka_timestamp",
    type: "timestamptz",
    required: true,
    doc: "The record's CreateTime: when Venus received the event.",
  },
  kafkaKey: { name: "kafka_key", type: "string", required: false, doc: "The record's key (device_id)." },
  ingestedAt: {
    name: "ingested_at",
    type: "timestamptz",
    required: true,
    doc: "When Neptune wrote the row.",
  },
} as const satisfies Record<string, ColumnSpec>;

/** Every bronze column, in table order for a new table. */
export function bronzeColumns(contract: readonly ColumnSpec[] = contractColumns()): ColumnSpec[] {
  const { eventTime, ...rest } = PLATFORM_COLUMNS;
  const lead = ["event_id", "event_type", "schema_version"];
  const leading = lead.map((name) => contract.find((c) => c.name === name)).filter((c) => c !== undefined);
  const others = contract.filter((c) => !lead.includes(c.name));
  return [...leading, eventTime, ...others, ...Object.values(rest)];
}

/** Name of the partition field: the day (Iceberg `day` transform) of `event_time`. */
export const PARTITION_FIELD = "event_time_day";

export function bronzePartitionSpec(schema: Schema): PartitionSpec {
  const source = schema.fields.find((f) => f.name === PLATFORM_COLUMNS.eventTime.name);
  if (!source) throw new IcebergError("bronze schema has no event_time column");
  return {
    "spec-id": 0,
    fields: [{ "source-id": source.id, "field-id": 1000, name: PARTITION_FIELD, transform: "day" }],
  };
}

/** Days since 1970-01-01 (Iceberg's day transform) of a time in ms. */
export const dayOf = (ms: number) => Math.floor(ms / 86_400_000);

/** `event_time_day=2026-11-29`, the folder of a partition's data files. */
export const partitionPath = (day: number) =>
  `${PARTITION_FIELD}=${new Date(day * 86_400_000).toISOString().slice(0, 10)}`;
