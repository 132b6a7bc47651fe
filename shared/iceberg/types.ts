/**
 * The parts of the Apache Iceberg table spec (format v2) this writer produces and reads.
 * https://iceberg.apache.org/spec/ — field names follow the spec's JSON serialisation.
 */

export type PrimitiveType = "boolean" | "int" | "long" | "double" | "string" | "timestamptz" | "date";

export interface SchemaField {
  id: number;
  name: string;
  required: boolean;
  type: PrimitiveType;
  doc?: string;
}

export interface Schema {
  type: "struct";
  "schema-id": number;
  fields: SchemaField[];
}

/** A column as the writer wants it, before the table assigns its field id. */
export interface ColumnSpec {
  name: string;
  type: PrimitiveType;
  required: boolean;
  doc?: string;
}

export interface PartitionField {
  "source-id": number;
  "field-id": number;
  name: string;
  transform: string;
}

export interface PartitionSpec {
  "spec-id": number;
  fields: PartitionField[];
}

export interface Snapshot {
  "snapshot-id": bigint;
  "parent-snapshot-id"?: bigint;
  "sequence-number": bigint;
  "timestamp-ms": number;
  "manifest-list": string;
  summary: { operation: "append" | "replace" | "overwrite" | "delete"; [key: string]: string };
  "schema-id"?: number;
}

export interface SnapshotRef {
  "snapshot-id": bigint;
  type: "branch" | "tag";
}

export interface TableMetadata {
  "format-version": 2;
  "table-uuid": string;
  location: string;
  "last-sequence-number": bigint;
  "last-updated-ms": number;
  "last-column-id": number;
  "current-schema-id": number;
  schemas: Schema[];
  "default-spec-id": number;
  "partition-specs": PartitionSpec[];
  "last-partition-id": number;
  "default-sort-order-id": number;
  "sort-orders": { "order-id": number; fields: unknown[] }[];
  properties: Record<string, string>;
  "current-snapshot-id"?: bigint | null;
  refs?: Record<string, SnapshotRef>;
  snapshots?: Snapshot[];
  "snapshot-log"?: { "snapshot-id": bigint; "timestamp-ms": number }[];
  "metadata-log"?: { "metadata-file": string; "timestamp-ms": number }[];
  [key: string]: unknown;
}

/** One data file as a manifest records it (content 0 = data). */
export interface DataFile {
  content: 0;
  filePath: string;
  fileFormat: "PARQUET";
  /** Partition values by partition field name (day transform: days since 1970-01-01). */
  partition: Record<string, number | null>;
  recordCount: bigint;
  fileSizeInBytes: bigint;
  valueCounts: Map<number, bigint>;
  nullValueCounts: Map<number, bigint>;
  nanValueCounts: Map<number, bigint>;
  lowerBounds: Map<number, Buffer>;
  upperBounds: Map<number, Buffer>;
}

/** Manifest entry status: 0 existing, 1 added, 2 deleted. */
export type EntryStatus = 0 | 1 | 2;

export interface ManifestEntry {
  status: EntryStatus;
  snapshotId: bigint | null;
  sequenceNumber: bigint | null;
  fileSequenceNumber: bigint | null;
  dataFile: DataFile;
}

/** One entry of a manifest list. */
export interface ManifestFile {
  manifestPath: string;
  manifestLength: bigint;
  partitionSpecId: number;
  content: 0 | 1;
  sequenceNumber: bigint;
  minSequenceNumber: bigint;
  addedSnapshotId: bigint;
  addedFilesCount: number;
  existingFilesCount: number;
  deletedFilesCount: number;
  addedRowsCount: bigint;
  existingRowsCount: bigint;
  deletedRowsCount: bigint;
  partitions: {
    containsNull: boolean;
    containsNan: boolean | null;
    lowerBound: Buffer | null;
    upperBound: Buffer | null;
  }[];
}

/** A requirement of the REST catalog's commit (https://iceberg.apache.org/rest-catalog-spec/, CommitTableRequest). */
export type TableRequirement =
  | { type: "assert-table-uuid"; uuid: string }
  | { type: "assert-ref-snapshot-id"; ref: string; "snapshot-id": bigint | null }
  | { type: "assert-current-schema-id"; "current-schema-id": number }
  | { type: "assert-last-assigned-field-id"; "last-assigned-field-id": number };

/** An update of the REST catalog's commit; the file-system catalog applies the same list itself. */
export type TableUpdate =
  | { action: "add-schema"; schema: Schema; "last-column-id": number }
  | { action: "set-current-schema"; "schema-id": number }
  | { action: "add-snapshot"; snapshot: Snapshot }
  | { action: "set-snapshot-ref"; "ref-name": string; type: "branch"; "snapshot-id": bigint }
  | { action: "remove-snapshots"; "snapshot-ids": bigint[] }
  | { action: "set-properties"; updates: Record<string, string> };

export interface TableIdentifier {
  namespace: string[];
  name: string;
}
