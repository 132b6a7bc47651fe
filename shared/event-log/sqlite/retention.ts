import type Database from "better-sqlite3";
import type { LogStatements } from "./statements.ts";

/**
 * Deletes at most `maxRecords` expired records (appended before `cutoff`) from the front
 * of the partitions and advances their low watermarks. `more` says another step may find more to delete.
 */
export function sweepStep(
  db: Database.Database,
  s: LogStatements,
  cutoff: number,
  maxRecords: number,
): { deleted: number; more: boolean } {
  return db
    .transaction(() => {
      let deleted = 0;
      for (const p of s.allPartitions.all()) {
        if (p.low >= p.high) continue;
        const windowEnd = Math.min(p.high, p.low + (maxRecords - deleted));
        const firstRetained = s.firstRetained.get(p.topic_id, p.partition, p.low, windowEnd, cutoff);
        const newLow = firstRetained ?? windowEnd;
        if (newLow === p.low) continue;
        deleted += s.deleteRange.run(p.topic_id, p.partition, p.low, newLow).changes;
        s.setLowOffset.run(newLow, p.topic_id, p.partition);
        if (deleted >= maxRecords) return { deleted, more: true };
      }
      return { deleted, more: false };
    })
    .immediate();
}
