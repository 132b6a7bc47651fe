import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { SchemaElement } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { nativeSnappy } from "./snappy.ts";
import type { DataFile, PrimitiveType, Schema, SchemaField } from "./types.ts";
import { serializeValue } from "./values.ts";

/**
 * Data files: Parquet written with hyparquet-writer, each column carrying its Iceberg field id (readers
 * resolve columns by id, so renamed or added columns read correctly), plus the column statistics Iceberg
 * keeps in manifests (value, null and NaN counts, lower and upper bounds) for file pruning.
 */

/** A column value; strings may come as UTF-8 bytes (raw payloads, written as they are). */
export type CellValue = number | bigint | string | boolean | Uint8Array | null;

/** Column values by field id, all of the same length; timestamps are microseconds (bigint). */
export type ColumnBatch = Map<number, CellValue[]>;

/** Strings longer than this in a column drop that column's bounds (raw payloads, free text). */
const MAX_BOUND_LENGTH = 64;

function parquetElement(field: SchemaField): SchemaElement {
  const base = {
    name: field.name,
    repetition_type: field.required ? "REQUIRED" : "OPTIONAL",
    field_id: field.id,
  } as const;
  switch (field.type) {
    case "string":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
    case "int":
      return { ...base, type: "INT32" };
    case "long":
      return { ...base, type: "INT64" };
    case "double":
      return { ...base, type: "DOUBLE" };
    case "boolean":
      return { ...base, type: "BOOLEAN" };
    case "date":
      return { ...base, type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } };
    case "timestamptz":
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MICROS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" },
      };
  }
}

type BoundValue = Exclude<CellValue, Uint8Array>;

interface ColumnStats {
  nulls: number;
  nans: number;
  min: BoundValue;
  max: BoundValue;
  bounded: boolean;
}

function columnStats(type: PrimitiveType, values: readonly CellValue[]): ColumnStats {
  let nulls = 0;
  let nans = 0;
  let min: BoundValue = null;
  let max: BoundValue = null;
  let bounded = true;
  for (const value of values) {
    if (value === null || value === undefined) {
      nulls++;
      continue;
    }
    if (type === "double" && Number.isNaN(value)) {
      nans++;
      continue;
    }
    if (value instanceof Uint8Array) {
      // Raw bytes (payloads): written as they are, no bounds.
      bounded = false;
      continue;
    }
    if (type === "string") {
      // Bounds of long text are dropped, and so are those of text outside the Basic Multilingual Plane,
      // where JavaScript's UTF-16 order differs from Iceberg's code-point order.
      const text = value as string;
      if (text.length > MAX_BOUND_LENGTH || /[\uD800-\uFFFF]/.test(text)) bounded = false;
    }
    if (min === null || value < min) min = value;
    if (max === null || value > max) max = value;
  }
  return { nulls, nans, min, max, bounded };
}

export interface EncodedDataFile {
  bytes: Buffer;
  dataFile: DataFile;
}

/**
 * Encodes one Parquet data file for `schema` from column values; `partition` holds the file's partition
 * tuple (every row of a data file belongs to one partition). `location` is where the file will be stored.
 */
export function encodeDataFile(options: {
  schema: Schema;
  columns: ColumnBatch;
  rowCount: number;
  partition: Record<string, number | null>;
  location: string;
  /**
   * Parquet compression. SNAPPY (the default) is the fast one, for files written while ingesting; GZIP
   * (level 1) gives smaller files, for compaction's long-lived ones. Every Iceberg reader has both.
   */
  codec?: "SNAPPY" | "GZIP" | "UNCOMPRESSED";
  /** Parquet's own min/max statistics per column chunk (default true); manifests always get bounds. */
  parquetStatistics?: boolean;
}): EncodedDataFile {
  const { schema, columns, rowCount } = options;
  const elements: SchemaElement[] = [{ name: "table", num_children: 0 }];
  const columnData = [];
  const dataFile: DataFile = {
    content: 0,
    filePath: options.location,
    fileFormat: "PARQUET",
    partition: options.partition,
    recordCount: BigInt(rowCount),
    fileSizeInBytes: 0n,
    valueCounts: new Map(),
    nullValueCounts: new Map(),
    nanValueCounts: new Map(),
    lowerBounds: new Map(),
    upperBounds: new Map(),
  };
  for (const field of schema.fields) {
    const values = columns.get(field.id) ?? new Array<CellValue>(rowCount).fill(null);
    const stats = columnStats(field.type, values);
    // An optional column that is null in every row is left out of the file: Iceberg readers read a field id
    // missing from a data file as null (as for files older than a column), and the manifest still says so.
    if (field.required || stats.nulls < rowCount) {
      elements.push(parquetElement(field));
      // Parquet's own statistics too, except for long text (raw payloads), where they only cost time.
      columnData.push({
        name: field.name,
        data: values as unknown[],
        statistics: stats.bounded && options.parquetStatistics !== false,
      });
    }
    dataFile.valueCounts.set(field.id, BigInt(rowCount));
    dataFile.nullValueCounts.set(field.id, BigInt(stats.nulls));
    if (field.type === "double") dataFile.nanValueCounts.set(field.id, BigInt(stats.nans));
    if (stats.bounded && stats.min !== null && stats.max !== null) {
      dataFile.lowerBounds.set(field.id, serializeValue(field.type, stats.min));
      dataFile.upperBounds.set(field.id, serializeValue(field.type, stats.max));
    }
  }
  elements[0]!.num_children = elements.length - 1;
  const bytes = Buffer.from(
    parquetWriteBuffer({
      columnData,
      schema: elements,
      rowGroupSize: 131_072,
      codec: options.codec ?? "SNAPPY",
      // Native compressors where there are: Node's zlib for GZIP, the snappy package for SNAPPY (without it,
      // hyparquet-writer's own JavaScript Snappy). See docs/decisions/012-bronze-compression.md.
      compressors: {
        GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input, { level: 1 })),
        ...(nativeSnappy ? { SNAPPY: nativeSnappy } : {}),
      },
      createdBy: "PacketPulse bronze writer (hyparquet-writer)",
    }),
  );
  dataFile.fileSizeInBytes = BigInt(bytes.length);
  return { bytes, dataFile };
}

/** A data file name that never collides with another writer's. */
export function dataFileName(): string {
  return `${Date.now()}-${randomUUID()}.parquet`;
}
