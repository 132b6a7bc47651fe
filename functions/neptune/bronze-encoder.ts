import { rejectingThrows, type ValidationIssue } from "#shared/events/index.ts";
import { type DataFile, dataFileName, encodeDataFile, type Schema } from "#shared/iceberg/index.ts";
import type { SessionsRecord } from "#shared/lambda/sessions-record.ts";
import {
  type PackedRecords,
  packRecords,
  ThreadPool,
  type ThreadTask,
  unpackRecords,
} from "#shared/threads/index.ts";
import { BronzeBatchBuilder } from "./bronze-rows.ts";
import { PARTITION_FIELD, partitionPath } from "./bronze-schema.ts";

/**
 * Turns records into Parquet data files: contract check, columns by event day, encoding. This is the CPU
 * work of bronze; on a machine with more than one core (the embedded mode) a batch is split into
 * contiguous chunks encoded at the same time, one on this thread and the others on worker threads
 * (each chunk gives its own file per day). Lambda bundles run it on this thread only.
 */

export interface EncodedFile {
  bytes: Buffer;
  dataFile: DataFile;
}

export interface EncodedChunk {
  files: EncodedFile[];
  rows: number;
  /** Records that failed the contract, by index in the chunk. */
  rejected: { index: number; schemaVersion: 1 | 2; issues: ValidationIssue[] }[];
}

/** The work of one chunk, on whichever thread runs it. */
export function encodeChunk(
  records: readonly SessionsRecord[],
  schema: Schema,
  tableLocation: string,
  ingestedAtMs: number,
): EncodedChunk {
  const builder = new BronzeBatchBuilder(schema, ingestedAtMs);
  const addRecord = (record: SessionsRecord) => builder.add(record);
  const rejected: EncodedChunk["rejected"] = [];
  let rows = 0;
  for (let index = 0; index < records.length; index++) {
    // The builder adds a row's cells only once the row passed, so a check that throws leaves no trace in it.
    const verdict = rejectingThrows(addRecord, records[index]!);
    if (verdict.ok) rows++;
    else rejected.push({ index, schemaVersion: verdict.schemaVersion, issues: verdict.issues });
  }
  const files: EncodedFile[] = [];
  for (const [day, batch] of builder.byDay()) {
    files.push(
      encodeDataFile({
        schema,
        columns: batch.columns,
        rowCount: batch.rowCount,
        partition: { [PARTITION_FIELD]: day },
        location: `${tableLocation}/data/${partitionPath(day)}/${dataFileName()}`,
      }),
    );
  }
  return { files, rows, rejected };
}

/** A remote chunk: the records packed (shared/threads) and what encoding them needs. */
export interface BronzeChunkInput {
  records: PackedRecords;
  schema: Schema;
  tableLocation: string;
  ingestedAtMs: number;
}

/** {@link encodeChunk} as a pool task: the files' bytes move back to the caller without a copy. */
export const bronzeChunkTask: ThreadTask<BronzeChunkInput, EncodedChunk> = (input) => {
  const chunk = encodeChunk(
    unpackRecords(input.records),
    input.schema,
    input.tableLocation,
    input.ingestedAtMs,
  );
  return { value: chunk, transfer: chunk.files.map((file) => file.bytes.buffer as ArrayBuffer) };
};

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Structured clone turns Buffers into Uint8Arrays; give the files and their bounds their Buffer methods. */
function reviveChunk(chunk: EncodedChunk): EncodedChunk {
  const bounds = (map: Map<number, Uint8Array>) => new Map([...map].map(([k, v]) => [k, asBuffer(v)]));
  return {
    ...chunk,
    files: chunk.files.map(({ bytes, dataFile }) => ({
      bytes: asBuffer(bytes),
      dataFile: {
        ...dataFile,
        lowerBounds: bounds(dataFile.lowerBounds),
        upperBounds: bounds(dataFile.upperBounds),
      },
    })),
  };
}

const ENCODER_MODULE = import.meta.url;
/** Chunks below a few thousand records are not worth a thread's hand-over. */
const MIN_THREAD_CHUNK = 2000;

export class BronzeEncoder {
  private readonly pool: ThreadPool;

  /** `threads` counts this thread: 1 encodes inline; default min(2, available cores). */
  constructor(threads?: number) {
    this.pool = new ThreadPool("bronze encoder", threads);
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Loads the encoder on every worker thread now, so the first batch does not wait for it. */
  async preload(): Promise<void> {
    await this.pool.preload(ENCODER_MODULE);
  }

  /** Encodes records; the result lists files of every chunk and rejections by index in `records`. */
  async encode(
    records: readonly SessionsRecord[],
    schema: Schema,
    tableLocation: string,
    ingestedAtMs: number,
  ): Promise<EncodedChunk> {
    const results = await this.pool.map(
      records.length,
      MIN_THREAD_CHUNK,
      (start, end) => encodeChunk(records.slice(start, end), schema, tableLocation, ingestedAtMs),
      {
        module: ENCODER_MODULE,
        task: "bronzeChunkTask",
        input: (start, end) => {
          const { packed, transfer } = packRecords(records.slice(start, end));
          return { input: { records: packed, schema, tableLocation, ingestedAtMs }, transfer };
        },
      },
    );
    const merged: EncodedChunk = { files: [], rows: 0, rejected: [] };
    results.forEach(({ start, value }, i) => {
      const result = i === 0 ? value : reviveChunk(value);
      merged.files.push(...result.files);
      merged.rows += result.rows;
      merged.rejected.push(...result.rejected.map((r) => ({ ...r, index: r.index + start })));
    });
    return merged;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
