import { randomUUID } from "node:crypto";
import { CommitConflictError, IcebergError } from "./errors.ts";
import { parseIcebergJson, stringifyIcebergJson, toBigInt } from "./json.ts";
import type {
  ColumnSpec,
  PartitionSpec,
  Schema,
  Snapshot,
  TableMetadata,
  TableRequirement,
  TableUpdate,
} from "./types.ts";

/** Parses a table metadata file; 64-bit ids become bigint whatever their size. */
export function parseTableMetadata(text: string, location: string): TableMetadata {
  const raw = parseIcebergJson(text, location) as TableMetadata;
  if (raw === null || typeof raw !== "object" || raw["format-version"] !== 2) {
    throw new IcebergError(`${location} is not Iceberg format v2 table metadata`);
  }
  return normaliseMetadata(raw);
}

/** Brings ids parsed as numbers (small values, or a REST server's JSON) to bigint. */
export function normaliseMetadata(raw: TableMetadata): TableMetadata {
  const snapshots = (raw.snapshots ?? []).map((s) => normaliseSnapshot(s));
  const current = raw["current-snapshot-id"];
  const currentId = current === null || current === undefined ? null : toBigInt(current);
  return {
    ...raw,
    "last-sequence-number": toBigInt(raw["last-sequence-number"] ?? 0),
    "current-snapshot-id": currentId === -1n ? null : currentId,
    snapshots,
    refs: Object.fromEntries(
      Object.entries(raw.refs ?? {}).map(([name, ref]) => [
        name,
        { ...ref, "snapshot-id": toBigInt(ref["snapshot-id"]) },
      ]),
    ),
    "snapshot-log": (raw["snapshot-log"] ?? []).map((e) => ({
      ...e,
      "snapshot-id": toBigInt(e["snapshot-id"]),
    })),
    properties: raw.properties ?? {},
  };
}

export function normaliseSnapshot(s: Snapshot): Snapshot {
  return {
    ...s,
    "snapshot-id": toBigInt(s["snapshot-id"]),
    ...(s["parent-snapshot-id"] === undefined || s["parent-snapshot-id"] === null
      ? {}
      : { "parent-snapshot-id": toBigInt(s["parent-snapshot-id"]) }),
    "sequence-number": toBigInt(s["sequence-number"] ?? 0),
  };
}

export function serialiseTableMetadata(metadata: TableMetadata): string {
  const { "current-snapshot-id": current, ...rest } = metadata;
  return stringifyIcebergJson({ ...rest, "current-snapshot-id": current ?? -1 });
}

/** A random positive 63-bit snapshot id, as Iceberg's writers choose them. */
export function newSnapshotId(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0]! &= 0x7f;
  let id = 0n;
  for (const byte of bytes) id = (id << 8n) | BigInt(byte);
  return id === 0n ? 1n : id;
}

export function currentSchema(metadata: TableMetadata): Schema {
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
  if (!schema) throw new IcebergError(`table metadata has no schema ${metadata["current-schema-id"]}`);
  return schema;
}

export function defaultSpec(metadata: TableMetadata): PartitionSpec {
  const spec = metadata["partition-specs"].find((s) => s["spec-id"] === metadata["default-spec-id"]);
  if (!spec) throw new IcebergError(`table metadata has no partition spec ${metadata["default-spec-id"]}`);
  return spec;
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata.refs?.main?.["snapshot-id"] ?? metadata["current-snapshot-id"];
  if (id === null || id === undefined) return undefined;
  return metadata.snapshots?.find((s) => s["snapshot-id"] === id);
}

/** Assigns field ids 1..n to the columns of a new table. */
export function initialSchema(columns: readonly ColumnSpec[]): Schema {
  return {
    type: "struct",
    "schema-id": 0,
    fields: columns.map((c, i) => ({
      id: i + 1,
      name: c.name,
      required: c.required,
      type: c.type,
      ...(c.doc ? { doc: c.doc } : {}),
    })),
  };
}

/**
 * The schema that adds the columns of `wanted` missing from `current` (matched by name), with new field
 * ids after `lastColumnId`; undefined when nothing is missing. Columns are only ever added, and as
 * optional: files written before have no such column and read as null (no data is rewritten).
 */
export function evolvedSchema(
  current: Schema,
  lastColumnId: number,
  nextSchemaId: number,
  wanted: readonly ColumnSpec[],
): Schema | undefined {
  const known = new Set(current.fields.map((f) => f.name));
  const missing = wanted.filter((c) => !known.has(c.name));
  if (missing.length === 0) return undefined;
  for (const column of wanted) {
    const existing = current.fields.find((f) => f.name === column.name);
    if (existing && existing.type !== column.type) {
      throw new IcebergError(
        `column ${column.name} is ${existing.type} in the table but ${column.type} in the writer: change the contract compatibly (a new field) instead`,
      );
    }
  }
  return {
    type: "struct",
    "schema-id": nextSchemaId,
    fields: [
      ...current.fields,
      ...missing.map((c, i) => ({
        id: lastColumnId + i + 1,
        name: c.name,
        required: false,
        type: c.type,
        ...(c.doc ? { doc: c.doc } : {}),
      })),
    ],
  };
}

/** Metadata of a new, empty table (the file-system catalog's create; a REST catalog builds its own). */
export function newTableMetadata(options: {
  location: string;
  schema: Schema;
  spec: PartitionSpec;
  properties: Record<string, string>;
}): TableMetadata {
  const lastColumnId = Math.max(0, ...options.schema.fields.map((f) => f.id));
  const lastPartitionId = Math.max(999, ...options.spec.fields.map((f) => f["field-id"]));
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location: options.location,
    "last-sequence-number": 0n,
    "last-updated-ms": Date.now(),
    "last-column-id": lastColumnId,
    "current-schema-id": options.schema["schema-id"],
    schemas: [options.schema],
    "default-spec-id": options.spec["spec-id"],
    "partition-specs": [options.spec],
    "last-partition-id": lastPartitionId,
    "default-sort-order-id": 0,
    "sort-orders": [{ "order-id": 0, fields: [] }],
    properties: options.properties,
    "current-snapshot-id": null,
    refs: {},
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
  };
}

/** Throws a CommitConflictError naming the first requirement `metadata` does not meet. */
export function checkRequirements(metadata: TableMetadata, requirements: readonly TableRequirement[]): void {
  for (const requirement of requirements) {
    switch (requirement.type) {
      case "assert-table-uuid":
        if (metadata["table-uuid"] !== requirement.uuid) {
          throw new CommitConflictError(`table was replaced (uuid ${metadata["table-uuid"]})`);
        }
        break;
      case "assert-ref-snapshot-id": {
        const actual = metadata.refs?.[requirement.ref]?.["snapshot-id"] ?? null;
        if (actual !== requirement["snapshot-id"]) {
          throw new CommitConflictError(
            `branch ${requirement.ref} moved: expected snapshot ${requirement["snapshot-id"]}, found ${actual}`,
          );
        }
        break;
      }
      case "assert-current-schema-id":
        if (metadata["current-schema-id"] !== requirement["current-schema-id"]) {
          throw new CommitConflictError(`the table's schema changed to ${metadata["current-schema-id"]}`);
        }
        break;
      case "assert-last-assigned-field-id":
        if (metadata["last-column-id"] !== requirement["last-assigned-field-id"]) {
          throw new CommitConflictError(
            `the table's last column id changed to ${metadata["last-column-id"]}`,
          );
        }
        break;
    }
  }
}

/** The metadata after `updates`, as a REST catalog server applies them. */
export function applyUpdates(
  base: TableMetadata,
  updates: readonly TableUpdate[],
  now = Date.now(),
): TableMetadata {
  const next: TableMetadata = {
    ...base,
    schemas: [...base.schemas],
    snapshots: [...(base.snapshots ?? [])],
    refs: { ...(base.refs ?? {}) },
    "snapshot-log": [...(base["snapshot-log"] ?? [])],
    properties: { ...base.properties },
    "last-updated-ms": now,
  };
  let lastAddedSchema: number | undefined;
  for (const update of updates) {
    switch (update.action) {
      case "add-schema":
        next.schemas.push(update.schema);
        next["last-column-id"] = Math.max(next["last-column-id"], update["last-column-id"]);
        lastAddedSchema = update.schema["schema-id"];
        break;
      case "set-current-schema": {
        const id = update["schema-id"] === -1 ? lastAddedSchema : update["schema-id"];
        if (id === undefined || !next.schemas.some((s) => s["schema-id"] === id)) {
          throw new IcebergError(`set-current-schema names unknown schema ${update["schema-id"]}`);
        }
        next["current-schema-id"] = id;
        break;
      }
      case "add-snapshot":
        if (update.snapshot["sequence-number"] <= next["last-sequence-number"]) {
          throw new CommitConflictError(
            `snapshot sequence number ${update.snapshot["sequence-number"]} is not after ${next["last-sequence-number"]}`,
          );
        }
        next.snapshots!.push(update.snapshot);
        next["last-sequence-number"] = update.snapshot["sequence-number"];
        break;
      case "set-snapshot-ref":
        next.refs![update["ref-name"]] = { "snapshot-id": update["snapshot-id"], type: update.type };
        if (update["ref-name"] === "main") {
          next["current-snapshot-id"] = update["snapshot-id"];
          next["snapshot-log"]!.push({ "snapshot-id": update["snapshot-id"], "timestamp-ms": now });
        }
        break;
      case "remove-snapshots": {
        const removed = new Set(update["snapshot-ids"]);
        next.snapshots = next.snapshots!.filter((s) => !removed.has(s["snapshot-id"]));
        next["snapshot-log"] = next["snapshot-log"]!.filter((e) => !removed.has(e["snapshot-id"]));
        break;
      }
      case "set-properties":
        Object.assign(next.properties, update.updates);
        break;
    }
  }
  return next;
}
