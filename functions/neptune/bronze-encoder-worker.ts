import { parentPort } from "node:worker_threads";
import { encodeChunk, reviveRecords, type WorkerRequest, type WorkerResponse } from "./bronze-encoder.ts";

/** A worker thread of BronzeEncoder: encodes the chunks it is sent and hands the files back. */
parentPort?.on("message", (request: WorkerRequest) => {
  let response: WorkerResponse;
  const transfer: ArrayBuffer[] = [];
  try {
    const chunk = encodeChunk(
      reviveRecords(request.records),
      request.schema,
      request.tableLocation,
      request.ingestedAtMs,
    );
    for (const file of chunk.files) transfer.push(file.bytes.buffer as ArrayBuffer);
    response = { id: request.id, ok: true, chunk };
  } catch (error) {
    response = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(response, transfer);
});
