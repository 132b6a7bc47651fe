import { readAvroFile, writeAvroFile } from "./avro.ts";
import { toBigInt } from "./json.ts";
import type {
  DataFile,
  EntryStatus,
  ManifestEntry,
  ManifestFile,
  PartitionSpec,
  PrimitiveType,
  Schema,
} from "./types.ts";

/**
 * Manifests and manifest lists (format v2), with the Avro schemas and field ids of
 * https://iceberg.apache.org/spec/#manifests and #manifest-lists.
 */

const optional = (type: unknown) => ["null", type];

/** Iceberg map<int, T> in Avro: an array of key/value records with logicalType "map". */
function intMap(name: string, id: number, keyId: number, valueId: number, valueType: string) {
  return {
    name,
    type: optional({
      type: "array",
      logicalType: "map",
      items: {
        type: "record",
        name: `k${keyId}_v${valueId}`,
        fields: [
          { name: "key", type: "int", "field-id": keyId },
          { name: "value", type: valueType, "field-id": valueId },
        ],
      },
    }),
    default: null,
    "field-id": id,
  };
}

function avroPrimitive(type: PrimitiveType): unknown {
  switch (type) {
    case "date":
      return { type: "int", logicalType: "date" };
    case "timestamptz":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": true };
    case "string":
      return "string";
    default:
      return type;
  }
}

/** The partition tuple's Avro record: one optional field per partition field, typed by its transform. */
function partitionRecord(spec: PartitionSpec, schema: Schema) {
  return {
    type: "record",
    name: "r102",
    fields: spec.fields.map((field) => ({
      name: field.name,
      type: optional(avroPrimitive(partitionResultType(field.transform, schema, field["source-id"]))),
      default: null,
      "field-id": field["field-id"],
    })),
  };
}

export function partitionResultType(transform: string, schema: Schema, sourceId: number): PrimitiveType {
  if (transform === "day") return "date";
  if (transform === "identity") {
    const source = schema.fields.find((f) => f.id === sourceId);
    if (source) return source.type;
  }
  return "int";
}

export function manifestEntrySchema(spec: PartitionSpec, schema: Schema) {
  return {
    type: "record",
    name: "manifest_entry",
    fields: [
      { name: "status", type: "int", "field-id": 0 },
      { name: "snapshot_id", type: optional("long"), default: null, "field-id": 1 },
      { name: "sequence_number", type: optional("long"), default: null, "field-id": 3 },
      { name: "file_sequence_number", type: optional("long"), default: null, "field-id": 4 },
      {
        name: "data_file",
        "field-id": 2,
        type: {
          type: "record",
          name: "r2",
          fields: [
            { name: "content", type: "int", "field-id": 134 },
            { name: "file_path", type: "string", "field-id": 100 },
            { name: "file_format", type: "string", "field-id": 101 },
            { name: "partition", type: partitionRecord(spec, schema), "field-id": 102 },
            { name: "record_count", type: "long", "field-id": 103 },
            { name: "file_size_in_bytes", type: "long", "field-id": 104 },
            intMap("column_sizes", 108, 117, 118, "long"),
            intMap("value_counts", 109, 119, 120, "long"),
            intMap("null_value_counts", 110, 121, 122, "long"),
            intMap("nan_value_counts", 137, 138, 139, "long"),
            intMap("lower_bounds", 125, 126, 127, "bytes"),
            intMap("upper_bounds", 128, 129, 130, "bytes"),
            { name: "key_metadata", type: optional("bytes"), default: null, "field-id": 131 },
            {
              name: "split_offsets",
              type: optional({ type: "array", items: "long", "element-id": 133 }),
              default: null,
              "field-id": 132,
            },
            {
              name: "equality_ids",
              type: optional({ type: "array", items: "int", "element-id": 136 }),
              default: null,
              "field-id": 135,
            },
            { name: "sort_order_id", type: optional("int"), default: null, "field-id": 140 },
          ],
        },
      },
    ],
  };
}

export const MANIFEST_LIST_SCHEMA = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", "field-id": 500 },
    { name: "manifest_length", type: "long", "field-id": 501 },
    { name: "partition_spec_id", type: "int", "field-id": 502 },
    { name: "content", type: "int", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    {
      name: "partitions",
      type: optional({
        type: "array",
        "element-id": 508,
        items: {
          type: "record",
          name: "r508",
          fields: [
            { name: "contains_null", type: "boolean", "field-id": 509 },
            { name: "contains_nan", type: optional("boolean"), default: null, "field-id": 518 },
            { name: "lower_bound", type: optional("bytes"), default: null, "field-id": 510 },
            { name: "upper_bound", type: optional("bytes"), default: null, "field-id": 511 },
          ],
        },
      }),
      default: null,
      "field-id": 507,
    },
    { name: "key_metadata", type: optional("bytes"), default: null, "field-id": 519 },
  ],
};

const mapToAvro = <T>(map: Map<number, T>) => [...map].map(([key, value]) => ({ key, value }));
const mapFromAvro = <T>(list: unknown, convert: (v: unknown) => T) =>
  new Map(((list as { key: number; value: unknown }[] | null) ?? []).map((e) => [e.key, convert(e.value)]));

export function writeManifest(
  entries: readonly ManifestEntry[],
  spec: PartitionSpec,
  schema: Schema,
): Buffer {
  const records = entries.map((entry) => ({
    status: entry.status,
    snapshot_id: entry.snapshotId,
    sequence_number: entry.sequenceNumber,
    file_sequence_number: entry.fileSequenceNumber,
    data_file: {
      content: 0,
      file_path: entry.dataFile.filePath,
      file_format: entry.dataFile.fileFormat,
      partition: Object.fromEntries(
        spec.fields.map((f) => [f.name, entry.dataFile.partition[f.name] ?? null]),
      ),
      record_count: entry.dataFile.recordCount,
      file_size_in_bytes: entry.dataFile.fileSizeInBytes,
      column_sizes: null,
      value_counts: mapToAvro(entry.dataFile.valueCounts),
      null_value_counts: mapToAvro(entry.dataFile.nullValueCounts),
      nan_value_counts: mapToAvro(entry.dataFile.nanValueCounts),
      lower_bounds: mapToAvro(entry.dataFile.lowerBounds),
      upper_bounds: mapToAvro(entry.dataFile.upperBounds),
      key_metadata: null,
      split_offsets: null,
      equality_ids: null,
      sort_order_id: null,
    },
  }));
  return writeAvroFile(manifestEntrySchema(spec, schema), records, {
    schema: JSON.stringify(schema),
    "schema-id": String(schema["schema-id"]),
    "partition-spec": JSON.stringify(spec.fields),
    "partition-spec-id": String(spec["spec-id"]),
    "format-version": "2",
    content: "data",
  });
}

export function readManifest(bytes: Buffer, path: string): ManifestEntry[] {
  return readAvroFile(bytes, path).records.map((record) => {
    const file = record.data_file as Record<string, unknown>;
    const big = (v: unknown) => toBigInt(v);
    const optionalBig = (v: unknown) => (v === null || v === undefined ? null : toBigInt(v));
    const dataFile: DataFile = {
      content: 0,
      filePath: String(file.file_path),
      fileFormat: "PARQUET",
      partition: { ...(file.partition as Record<string, number | null>) },
      recordCount: big(file.record_count),
      fileSizeInBytes: big(file.file_size_in_bytes),
      valueCounts: mapFromAvro(file.value_counts, big),
      nullValueCounts: mapFromAvro(file.null_value_counts, big),
      nanValueCounts: mapFromAvro(file.nan_value_counts, big),
      lowerBounds: mapFromAvro(file.lower_bounds, (v) => v as Buffer),
      upperBounds: mapFromAvro(file.upper_bounds, (v) => v as Buffer),
    };
    return {
      status: record.status as EntryStatus,
      snapshotId: optionalBig(record.snapshot_id),
      sequenceNumber: optionalBig(record.sequence_number),
      fileSequenceNumber: optionalBig(record.file_sequence_number),
      dataFile,
    };
  });
}

export function writeManifestList(
  manifests: readonly ManifestFile[],
  snapshot: { id: bigint; parentId: bigint | null; sequenceNumber: bigint },
): Buffer {
  const records = manifests.map((m) => ({
    manifest_path: m.manifestPath,
    manifest_length: m.manifestLength,
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: m.addedRowsCount,
    existing_rows_count: m.existingRowsCount,
    deleted_rows_count: m.deletedRowsCount,
    partitions: m.partitions.map((p) => ({
      contains_null: p.containsNull,
      contains_nan: p.containsNan,
      lower_bound: p.lowerBound,
      upper_bound: p.upperBound,
    })),
    key_metadata: null,
  }));
  return writeAvroFile(MANIFEST_LIST_SCHEMA, records, {
    "snapshot-id": String(snapshot.id),
    "parent-snapshot-id": snapshot.parentId === null ? "null" : String(snapshot.parentId),
    "sequence-number": String(snapshot.sequenceNumber),
    "format-version": "2",
  });
}

export function readManifestList(bytes: Buffer, path: string): ManifestFile[] {
  return readAvroFile(bytes, path).records.map((r) => ({
    manifestPath: String(r.manifest_path),
    manifestLength: toBigInt(r.manifest_length),
    partitionSpecId: r.partition_spec_id as number,
    content: r.content as 0 | 1,
    sequenceNumber: toBigInt(r.sequence_number),
    minSequenceNumber: toBigInt(r.min_sequence_number),
    addedSnapshotId: toBigInt(r.added_snapshot_id),
    addedFilesCount: r.added_files_count as number,
    existingFilesCount: r.existing_files_count as number,
    deletedFilesCount: r.deleted_files_count as number,
    addedRowsCount: toBigInt(r.added_rows_count),
    existingRowsCount: toBigInt(r.existing_rows_count),
    deletedRowsCount: toBigInt(r.deleted_rows_count),
    partitions: ((r.partitions as Record<string, unknown>[] | null) ?? []).map((p) => ({
      containsNull: p.contains_null as boolean,
      containsNan: (p.contains_nan as boolean | null) ?? null,
      lowerBound: (p.lower_bound as Buffer | null) ?? null,
      upperBound: (p.upper_bound as Buffer | null) ?? null,
    })),
  }));
}
