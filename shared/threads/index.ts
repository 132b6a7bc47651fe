/** Worker threads for the CPU-bound part of a batch, and records packed to cross between threads. */
export { ThreadPool, type ThreadTask, type ThreadTaskResult } from "./pool.ts";
export {
  PackedFields,
  type PackedRecords,
  packRecords,
  unpackRecords,
} from "./records.ts";
