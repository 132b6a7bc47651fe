import type { ValidationIssue } from "#shared/events/index.ts";
import { type PackedRecords, type ThreadTask, unpackRecords } from "#shared/threads/index.ts";
import type { SessionsRecord } from "./kafka-event.ts";
import { type SilverEvent, toSilverEvent } from "./silver-event.ts";
import { positionsCsv, type SilverRows, silverRows } from "./silver-rows.ts";

/**
 * The CPU work of a silver batch, for one contiguous chunk of its records: the contract check, silver
 * events, merged entity rows and the position rows as CSV. It runs on whichever thread of Jupiter's pool
 * takes the chunk (silver-batch.ts), so its result is plain data that crosses threads as it is.
 */
export interface SilverChunk {
  /** Position rows as CSV lines in POSITION_COLUMNS order. */
  positionsCsv: string;
  positions: number;
  sessions: SilverRows["sessions"];
  orders: SilverRows["orders"];
  vehicles: SilverRows["vehicles"];
  /** Records that failed the contract, by index in the chunk. */
  rejected: { index: number; schemaVersion: 1 | 2; issues: ValidationIssue[] }[];
}

export function transformSilverChunk(records: readonly SessionsRecord[]): SilverChunk {
  const events: SilverEvent[] = [];
  const rejected: SilverChunk["rejected"] = [];
  for (let index = 0; index < records.length; index++) {
    const verdict = toSilverEvent(records[index]!);
    if (verdict.ok) events.push(verdict.event);
    else rejected.push({ index, schemaVersion: verdict.schemaVersion, issues: verdict.issues });
  }
  const rows = silverRows(events);
  return {
    positionsCsv: positionsCsv(rows.session_positions),
    positions: rows.session_positions.length,
    sessions: rows.sessions,
    orders: rows.orders,
    vehicles: rows.vehicles,
    rejected,
  };
}

/** {@link transformSilverChunk} as a pool task: the records arrive packed (shared/threads). */
export const silverChunkTask: ThreadTask<PackedRecords, SilverChunk> = (packed) => ({
  value: transformSilverChunk(unpackRecords(packed)),
});
