import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * Worker threads for the CPU-bound part of a batch (decoding, checking and encoding records). A batch is
 * cut into contiguous chunks: this thread works on the first while the workers work on the others. It pays
 * on a machine with spare cores (the embedded mode); a Lambda bundle has no TypeScript source to start a
 * worker from and runs everything on its one thread, as the pool does whenever it has no workers.
 */

/** What a task returns: its value and the buffers to move to the caller instead of copying them. */
export interface ThreadTaskResult<T> {
  value: T;
  transfer?: ArrayBuffer[];
}

/** A task: a named export of a module, run on whichever thread the pool picks. */
export type ThreadTask<I, T> = (input: I) => ThreadTaskResult<T> | Promise<ThreadTaskResult<T>>;

export interface ThreadRequest {
  id: number;
  module: string;
  task: string;
  input: unknown;
}

export type ThreadResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };

/**
 * How to start a worker running worker.ts when this module runs from its TypeScript source (npm start under
 * tsx, tests): a small bootstrap registers tsx's loader, which a worker does not inherit from its parent.
 * Without the source (a bundle) or without tsx: undefined, and the pool runs inline.
 */
function workerBootstrap(): string | undefined {
  const source = new URL("./worker.ts", import.meta.url);
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

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  alive = true;

  constructor(
    readonly worker: Worker,
    readonly name: string,
  ) {
    worker.on("message", (message: ThreadResponse) => {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiting) return;
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new Error(`${name} thread: ${message.error}`));
    });
    // A dead worker fails what it held; the pool then runs its share on the calling thread.
    const fail = (error: Error) => {
      this.alive = false;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (this.alive) fail(new Error(`${name} thread exited with code ${code}`));
    });
  }
}

export class ThreadPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;

  private readonly offload: boolean;

  /**
   * `threads` counts the calling thread: 1 runs every chunk inline; the default is one per core, at most 2
   * (the embedded mode shares the machine with the log, ClickHouse and the other functions). With
   * `offload`, the calling thread takes no chunk while a worker is alive: it stays free for I/O.
   */
  constructor(
    readonly name: string,
    threads = Math.min(2, os.availableParallelism()),
    options: { offload?: boolean } = {},
  ) {
    this.offload = options.offload ?? false;
    const bootstrap = threads > 1 ? workerBootstrap() : undefined;
    if (!bootstrap) return;
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
        name: `${name}-${i}`,
      });
      worker.unref();
      this.workers.push(new PoolWorker(worker, name));
    }
  }

  /** Threads that take chunks now, this one included. */
  get threads(): number {
    return this.workers.filter((w) => w.alive).length + 1;
  }

  /**
   * Cuts `count` items into contiguous chunks of at least `minChunk` items, one per thread: `local` works on
   * the first here, the workers run `remote.task` (a named export of the module at `remote.module`, a file
   * URL) on the others with the input `remote.input` makes for them. Results come in chunk order, each with
   * the index of its first item.
   */
  async map<I, T>(
    count: number,
    minChunk: number,
    local: (start: number, end: number) => T | Promise<T>,
    remote: {
      module: string;
      task: string;
      input: (start: number, end: number) => { input: I; transfer?: ArrayBuffer[] };
    },
  ): Promise<{ start: number; value: T }[]> {
    const live = this.workers.filter((w) => w.alive);
    const mine = this.offload && live.length > 0 ? 0 : 1;
    const parts = Math.min(live.length + mine, Math.max(1, Math.floor(count / minChunk)));
    const size = Math.ceil(count / parts);
    if (mine === 0) {
      const chunks = live.slice(0, parts).map((worker, i) => {
        const start = i * size;
        const { input, transfer } = remote.input(start, Math.min(count, start + size));
        const request = { id: this.nextId++, module: remote.module, task: remote.task, input };
        return this.send<T>(worker, request, transfer).then((value) => ({ start, value }));
      });
      return Promise.all(chunks);
    }
    const others = live.slice(0, parts - 1).map((worker, i) => {
      const start = (i + 1) * size;
      const { input, transfer } = remote.input(start, Math.min(count, start + size));
      const request = { id: this.nextId++, module: remote.module, task: remote.task, input };
      return this.send<T>(worker, request, transfer).then((value) => ({ start, value }));
    });
    // The workers' results are awaited even when the local chunk throws, so no rejection goes unhandled.
    const here = Promise.resolve().then(() => local(0, Math.min(count, size)));
    const [first, ...rest] = await Promise.all([here.then((value) => ({ start: 0, value })), ...others]);
    return [first!, ...rest];
  }

  /** Loads a task module on every worker now, so the first batch does not wait for it. */
  async preload(module: string): Promise<void> {
    await Promise.all(
      this.workers
        .filter((w) => w.alive)
        .map((worker) => this.send(worker, { id: this.nextId++, module, task: "", input: undefined })),
    );
  }

  private send<T>(worker: PoolWorker, request: ThreadRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      worker.pending.set(request.id, { resolve: resolve as (value: unknown) => void, reject });
      worker.worker.postMessage(request, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
