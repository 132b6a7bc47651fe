import { parentPort } from "node:worker_threads";
import type { ThreadRequest, ThreadResponse, ThreadTask } from "./pool.ts";

/** A worker thread of a ThreadPool: runs the tasks it is sent, each a named export of a module. */
const modules = new Map<string, Promise<Record<string, unknown>>>();

parentPort?.on("message", async (request: ThreadRequest) => {
  let response: ThreadResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    let module = modules.get(request.module);
    if (!module) {
      module = import(request.module) as Promise<Record<string, unknown>>;
      modules.set(request.module, module);
    }
    const exports = await module;
    // No task: the caller only wants the module loaded (ThreadPool.preload).
    if (request.task === "") {
      parentPort!.postMessage({ id: request.id, ok: true, value: undefined } satisfies ThreadResponse);
      return;
    }
    const task = exports[request.task];
    if (typeof task !== "function") throw new Error(`${request.module} has no task ${request.task}`);
    const result = await (task as ThreadTask<unknown, unknown>)(request.input);
    transfer = result.transfer ?? [];
    response = { id: request.id, ok: true, value: result.value };
  } catch (error) {
    response = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(response, transfer);
});
