/**
 * Kafka records packed for a hand-over to another thread: every byte field of a batch in one buffer per
 * field (value, key, each header), numbers in typed arrays. A batch crosses as a handful of transferable
 * buffers instead of thousands of cloned objects, and the other side reads each record's bytes as views
 * into those buffers without copying them.
 */

import type { SessionsRecord } from "#shared/lambda/sessions-record.ts";

/** One byte field of every record: record i spans `bytes[starts[i] .. starts[i + 1])`; absent when -1. */
interface PackedColumn {
  bytes: Uint8Array;
  /** count + 1 entries; a negative start marks the record's field as absent (null key, missing header). */
  starts: Int32Array;
}

export interface PackedRecords {
  count: number;
  topics: string[];
  topicIndex: Uint16Array;
  partitions: Int32Array;
  offsets: Float64Array;
  timestamps: Float64Array;
  keys: PackedColumn;
  values: PackedColumn;
  headers: Record<string, PackedColumn>;
}

/** A column being packed: its bytes so far, and each record's start (see {@link PackedColumn}). */
class ColumnWriter {
  readonly starts: Int32Array;
  bytes: Uint8Array;
  at = 0;

  constructor(count: number, size: number) {
    this.starts = new Int32Array(count + 1);
    this.bytes = new Uint8Array(size);
  }

  put(i: number, value: Uint8Array | null | undefined): void {
    if (value === null || value === undefined) {
      this.starts[i] = -1 - this.at;
      return;
    }
    this.starts[i] = this.at;
    this.bytes.set(value, this.at);
    this.at += value.length;
  }

  /** Record i has no value in this column (a header it lacks). */
  absent(i: number): void {
    this.starts[i] = -1 - this.at;
  }

  done(count: number): PackedColumn {
    this.starts[count] = this.at;
    return { bytes: this.bytes, starts: this.starts };
  }
}

/** Where record i's field ends: the next record's start, whether that one is present or not. */
const startOf = (start: number) => (start < 0 ? -1 - start : start);

function columnView(column: PackedColumn, buffer: Buffer, i: number): Buffer | null {
  const start = column.starts[i]!;
  if (start < 0) return null;
  return buffer.subarray(start, startOf(column.starts[i + 1]!));
}

/**
 * Packs records; `transfer` lists the buffers to move (not copy) with postMessage. Two passes over the
 * records: one sizes every column, one copies the bytes (this runs on the consuming thread for every record
 * of every batch, docs/benchmarks.md).
 */
export function packRecords(records: readonly SessionsRecord[]): {
  packed: PackedRecords;
  transfer: ArrayBuffer[];
} {
  const count = records.length;
  const topics: string[] = [];
  const topicIndex = new Uint16Array(count);
  const partitions = new Int32Array(count);
  const offsets = new Float64Array(count);
  const timestamps = new Float64Array(count);
  let keyBytes = 0;
  let valueBytes = 0;
  const headerBytes = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    let t = topics.indexOf(record.topic);
    if (t < 0) t = topics.push(record.topic) - 1;
    topicIndex[i] = t;
    partitions[i] = record.partition;
    offsets[i] = record.offset;
    timestamps[i] = record.timestamp;
    keyBytes += record.key?.length ?? 0;
    valueBytes += record.value?.length ?? 0;
    const headers = record.headers;
    for (const name in headers) headerBytes.set(name, (headerBytes.get(name) ?? 0) + headers[name]!.length);
  }
  const keys = new ColumnWriter(count, keyBytes);
  const values = new ColumnWriter(count, valueBytes);
  const headerWriters = [...headerBytes].map(
    ([name, size]) => [name, new ColumnWriter(count, size)] as const,
  );
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    keys.put(i, record.key);
    values.put(i, record.value);
    const headers = record.headers;
    for (const [name, writer] of headerWriters) {
      const value = headers[name];
      if (value === undefined) writer.absent(i);
      else writer.put(i, value);
    }
  }
  const headers: Record<string, PackedColumn> = {};
  for (const [name, writer] of headerWriters) headers[name] = writer.done(count);
  const packed: PackedRecords = {
    count,
    topics,
    topicIndex,
    partitions,
    offsets,
    timestamps,
    keys: keys.done(count),
    values: values.done(count),
    headers,
  };
  const transfer: ArrayBuffer[] = [topicIndex, partitions, offsets, timestamps].map((a) => a.buffer);
  for (const column of [packed.keys, packed.values, ...Object.values(headers)]) {
    transfer.push(column.bytes.buffer as ArrayBuffer, column.starts.buffer as ArrayBuffer);
  }
  return { packed, transfer };
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The records again; their byte fields are views into the packed buffers. */
export function unpackRecords(packed: PackedRecords): SessionsRecord[] {
  const keys = asBuffer(packed.keys.bytes);
  const values = asBuffer(packed.values.bytes);
  const headerColumns = Object.entries(packed.headers).map(
    ([name, column]) => [name, column, asBuffer(column.bytes)] as const,
  );
  const records: SessionsRecord[] = new Array(packed.count);
  for (let i = 0; i < packed.count; i++) {
    const headers: Record<string, Buffer> = {};
    for (const [name, column, buffer] of headerColumns) {
      const value = columnView(column, buffer, i);
      if (value !== null) headers[name] = value;
    }
    records[i] = {
      topic: packed.topics[packed.topicIndex[i]!]!,
      partition: packed.partitions[i]!,
      offset: packed.offsets[i]!,
      timestamp: packed.timestamps[i]!,
      key: columnView(packed.keys, keys, i),
      value: columnView(packed.values, values, i) ?? Buffer.alloc(0),
      headers,
    };
  }
  return records;
}

/**
 * Fields of packed records read in place, without building the records: a value as text, a header's text,
 * the numbers. For a thread that only needs those, this spares a record, a headers object and a Buffer view
 * per field for every record of a chunk: built up front, a chunk's records outlived the young generation
 * while the chunk was worked on, and the garbage collector copied all of them again and again.
 */
export class PackedFields {
  readonly count: number;
  private readonly values: Buffer;
  private readonly headerColumns = new Map<string, { column: PackedColumn; bytes: Buffer }>();

  constructor(private readonly packed: PackedRecords) {
    this.count = packed.count;
    this.values = asBuffer(packed.values.bytes);
    for (const [name, column] of Object.entries(packed.headers)) {
      this.headerColumns.set(name, { column, bytes: asBuffer(column.bytes) });
    }
  }

  timestamp(i: number): number {
    return this.packed.timestamps[i]!;
  }

  /** Bytes of record i's value (0 when it has none). */
  valueLength(i: number): number {
    const starts = this.packed.values.starts;
    const start = starts[i]!;
    return start < 0 ? 0 : startOf(starts[i + 1]!) - start;
  }

  /** Record i's value decoded as UTF-8 ("" when it has none). */
  valueText(i: number): string {
    const start = this.packed.values.starts[i]!;
    if (start < 0) return "";
    return this.values.toString("utf8", start, startOf(this.packed.values.starts[i + 1]!));
  }

  /** Record i's header `name` decoded as UTF-8, or undefined when it has none. */
  headerText(i: number, name: string): string | undefined {
    const header = this.headerColumns.get(name);
    if (header === undefined) return undefined;
    const start = header.column.starts[i]!;
    if (start < 0) return undefined;
    return header.bytes.toString("utf8", start, startOf(header.column.starts[i + 1]!));
  }
}
