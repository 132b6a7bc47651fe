import { rejectingThrows, SESSIONS_HEADERS, type ValidationIssue } from "#shared/events/index.ts";
import type { SessionsRecord } from "#shared/lambda/sessions-record.ts";
import { PackedFields, type PackedRecords, type ThreadTask } from "#shared/threads/index.ts";
import {
  type SilverEventVerdict,
  type SilverRecordText,
  silverEventOf,
  toSilverEvent,
} from "./silver-event.ts";
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

/** A chunk's records as the transform reads them: a count and each record's verdict, made on demand. */
interface VerdictSource {
  count: number;
  verdict(index: number): SilverEventVerdict;
  /** The record's partition and offset in the log. */
  partition(index: number): number;
  offset(index: number): number;
}

function transform(source: VerdictSource): SilverChunk {
  const rows = new SilverRowsBuilder();
  const rejected: SilverChunk["rejected"] = [];
  const verdictOf = (index: number) => source.verdict(index);
  for (let index = 0; index < source.count; index++) {
    const verdict = rejectingThrows(verdictOf, index);
    if (verdict.ok) {
      verdict.event.logPartition = source.partition(index);
      verdict.event.logOffset = source.offset(index);
      rows.add(verdict.event);
    } else rejected.push({ index, schemaVersion: verdict.schemaVersion, issues: verdict.issues });
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

/** The transform of records in memory (a chunk this thread keeps). */
export function transformSilverChunk(records: readonly SessionsRecord[]): SilverChunk {
  return transform({
    count: records.length,
    verdict: (index) => toSilverEvent(records[index]!),
    partition: (index) => records[index]!.partition,
    offset: (index) => records[index]!.offset,
  });
}

/**
 * The transform of packed records, read field by field in place: no record objects, header objects or
 * Buffer views per record, so the chunk leaves less garbage behind (docs/benchmarks.md).
 */
export function transformPackedSilverChunk(packed: PackedRecords): SilverChunk {
  const fields = new PackedFields(packed);
  // One holder for every record: silverEventOf reads it and keeps nothing of it.
  const record: SilverRecordText = {
    text: "",
    byteLength: 0,
    timestamp: 0,
    schemaVersion: undefined,
    eventId: undefined,
  };
  return transform({
    count: fields.count,
    partition: (index) => packed.partitions[index]!,
    offset: (index) => packed.offsets[index]!,
    verdict(index) {
      record.text = fields.valueText(index);
      record.byteLength = fields.valueLength(index);
      record.timestamp = fields.timestamp(index);
      record.schemaVersion = fields.headerText(index, SESSIONS_HEADERS.schemaVersion);
      // Only v1 messages take their event id from the header.
      record.eventId =
        record.schemaVersion === "2" ? undefined : fields.headerText(index, SESSIONS_HEADERS.eventId);
      return silverEventOf(record);
    },
  });
}

/**
 * {@link transformPackedSilverChunk} as a pool task: the records arrive packed (shared/threads), and the
 * position CSV's buffer moves back to the calling thread instead of being copied.
 */
export const silverChunkTask: ThreadTask<PackedRecords, SilverChunk> = (packed) => {
  const value = transformPackedSilverChunk(packed);
  return { value, transfer: [value.positionsCsv.buffer as ArrayBuffer] };
};
