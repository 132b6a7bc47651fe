import type { ValidationIssue } from "#shared/events/index.ts";
import {
  type PackedRecords,
  packedReader,
  type RecordReader,
  type ThreadTask,
} from "#shared/threads/index.ts";
import { toSilverEvent } from "./silver-event.ts";
import { type SilverRows, SilverRowsBuilder } from "./silver-rows.ts";

/**
 * The CPU work of a silver batch, for one contiguous chunk of its records: the contract check, silver
 * events, merged entity rows and the position rows as CSV. It runs on whichever thread of Jupiter's pool
 * takes the chunk (silver-batch.ts), so its result is plain data that crosses threads as it is.
 */
export interface SilverChunk {
  /** Position rows as UTF-8 CSV lines in POSITION_COLUMNS order (from another thread: a Uint8Array). */
  positionsCsv: Uint8Array;
  positions: number;
  sessions: SilverRows["sessions"];
  orders: SilverRows["orders"];
  vehicles: SilverRows["vehicles"];
  /** Records that failed the contract, by index in the chunk. */
  rejected: { index: number; schemaVersion: 1 | 2; issues: ValidationIssue[] }[];
}

export function transformSilverChunk(records: RecordReader): SilverChunk {
  const rows = new SilverRowsBuilder();
  const rejected: SilverChunk["rejected"] = [];
  for (let index = 0; index < records.count; index++) {
    const verdict = toSilverEvent(records.at(index));
    if (verdict.ok) rows.add(verdict.event);
    else rejected.push({ index, schemaVersion: verdict.schemaVersion, issues: verdict.issues });
  }
  return {
    positionsCsv: rows.positionsCsv(),
    positions: rows.positions,
    sessions: [...rows.sessions.values()],
    orders: [...rows.orders.values()],
    vehicles: [...rows.vehicles.values()],
    rejected,
  };
}

/**
 * {@link transformSilverChunk} as a pool task: the records arrive packed (shared/threads), and the position
 * CSV's buffer moves back to the calling thread instead of being copied.
 */
export const silverChunkTask: ThreadTask<PackedRecords, SilverChunk> = (packed) => {
  const value = transformSilverChunk(packedReader(packed));
  return { value, transfer: [value.positionsCsv.buffer as ArrayBuffer] };
};
