import { EventLogError } from "#shared/errors.ts";
import type { ConsumedRecord, ConsumerOptions } from "./types.ts";

/** Key, value and header bytes of a record: the default measure of `maxBatchBytes`. */
export function recordBytes(record: ConsumedRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const name in record.headers) bytes += name.length + record.headers[name]!.length;
  return bytes;
}

/** How a consumer bounds its batches: by count (`maxBatchSize`) and by bytes (`maxBatchBytes`). */
export class BatchBounds {
  readonly maxRecords: number;
  readonly maxBytes: number;
  private readonly bytesOf: (record: ConsumedRecord) => number;

  constructor(
    options: Pick<ConsumerOptions, "maxBatchSize" | "maxBatchBytes" | "recordBytes">,
    defaultSize: number,
  ) {
    const maxRecords = options.maxBatchSize ?? defaultSize;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new EventLogError(`maxBatchSize must be a positive whole number, got ${options.maxBatchSize}`);
    }
    const maxBytes = options.maxBatchBytes ?? Number.POSITIVE_INFINITY;
    if (!(maxBytes > 0)) {
      throw new EventLogError(`maxBatchBytes must be a positive number, got ${options.maxBatchBytes}`);
    }
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
    this.bytesOf = options.recordBytes ?? recordBytes;
  }

  /** Whether batches are bounded by bytes (and `fit` counts them). */
  get measuresBytes(): boolean {
    return this.maxBytes !== Number.POSITIVE_INFINITY;
  }

  /**
   * How many of `records` (from `start`) join a batch that already holds `held` records of `heldBytes`
   * bytes: as many as fit both bounds, and at least one when the batch is empty. Returns the count and the
   * batch's bytes with them.
   */
  fit(records: readonly ConsumedRecord[], start: number, held: number, heldBytes: number) {
    let count = 0;
    let bytes = heldBytes;
    const room = Math.min(records.length - start, this.maxRecords - held);
    if (this.maxBytes === Number.POSITIVE_INFINITY) return { count: Math.max(room, 0), bytes };
    while (count < room) {
      const next = bytes + this.bytesOf(records[start + count]!);
      if (next > this.maxBytes && held + count > 0) break;
      bytes = next;
      count++;
    }
    return { count, bytes };
  }
}
