import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { SessionsRecord } from "#functions/jupiter/kafka-event.ts";
import type { ValidationIssue } from "#shared/events/index.ts";
import { type DataFile, dataFileName, encodeDataFile, type Schema } from "#shared/iceberg/index.ts";
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
  const rejected: EncodedChunk["rejected"] = [];
  let rows = 0;
  for (let index = 0; index < records.length; index++) {
    const verdict = builder.add(records[index]!);
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

export interface WorkerRequest {
  id: number;
  records: SessionsRecord[];
  schema: Schema;
  tableLocation: string;
  ingestedAtMs: number;
}

export type WorkerResponse =
  | { id: number; ok: true; chunk: EncodedChunk }
  | { id: number; ok: false; error: string };

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Structured clone turns Buffers into Uint8Arrays; give them back their Buffer methods. */
export function reviveRecords(records: SessionsRecord[]): SessionsRecord[] {
  return records.map((r) => ({
    ...r,
    key: r.key ? asBuffer(r.key) : null,
    value: asBuffer(r.value),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, asBuffer(v)])),
  }));
}

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

/**
 * How to start a worker thread running bronze-encoder-worker.ts, when this module runs from its TypeScript
 * source (npm start under tsx, tests): a small module bootstrap registers tsx's loader, since a
 * worker does not inherit the loader hooks of its parent. Lambda bundles have no source: undefined.
 */
function workerBootstrap(): string | undefined {
  const source = new URL("./bronze-encoder-worker.ts", import.meta.url);
  if (!import.meta.url.endsWith(".ts") || !existsSync(fileURLToPath(source))) return undefined;
  let tsxApi: string;
  try {
    tsxApi = createRequire(import.meta.url).resolve("tsx/esm/api");
  } catch {
    return undefined;
  }
  const api = pathToFileURL(tsxApi.replace(/\.cjs$/, ".mjs")).href;
  return `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(source.href)});`;
}

export class BronzeEncoder {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (c: EncodedChunk) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;

  /** `threads` counts this thread: 1 encodes inline; default min(2, available cores). */
  constructor(threads = Math.min(2, os.availableParallelism())) {
    const bootstrap = threads > 1 ? workerBootstrap() : undefined;
    if (!bootstrap) return;
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`));
      worker.unref();
      worker.on("message", (message: WorkerResponse) => {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!waiting) return;
        if (message.ok) waiting.resolve(reviveChunk(message.chunk));
        else waiting.reject(new Error(`bronze encoder thread: ${message.error}`));
      });
      worker.on("error", (error) => {
        for (const waiting of this.pending.values()) waiting.reject(error);
        this.pending.clear();
      });
      this.workers.push(worker);
    }
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Encodes records; the result lists files of every chunk and rejections by index in `records`. */
  async encode(
    records: readonly SessionsRecord[],
    schema: Schema,
    tableLocation: string,
    ingestedAtMs: number,
  ): Promise<EncodedChunk> {
    // Chunks below a few thousand records are not worth a thread's hand-over.
    const parts = Math.min(this.threads, Math.max(1, Math.floor(records.length / 2000)));
    if (parts === 1) return encodeChunk(records, schema, tableLocation, ingestedAtMs);
    const size = Math.ceil(records.length / parts);
    const chunks = Array.from({ length: parts }, (_, i) => records.slice(i * size, (i + 1) * size));
    const remote = chunks.slice(1).map(
      (chunk, i) =>
        new Promise<EncodedChunk>((resolve, reject) => {
          const id = this.nextId++;
          this.pending.set(id, { resolve, reject });
          const request: WorkerRequest = { id, records: chunk, schema, tableLocation, ingestedAtMs };
          this.workers[i]!.postMessage(request);
        }),
    );
    const local = encodeChunk(chunks[0]!, schema, tableLocation, ingestedAtMs);
    const results = [local, ...(await Promise.all(remote))];
    const merged: EncodedChunk = { files: [], rows: 0, rejected: [] };
    results.forEach((result, i) => {
      merged.files.push(...result.files);
      merged.rows += result.rows;
      merged.rejected.push(...result.rejected.map((r) => ({ ...r, index: r.index + i * size })));
    });
    return merged;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
