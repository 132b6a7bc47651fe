import { loadConfig } from "#shared/config/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import { type CompactionResult, compactBronze } from "./compaction.ts";
import { openBronzeStore } from "./store.ts";

/**
 * Neptune's scheduled maintenance (a `schedule` event in serverless.yml, also run by `npm start`):
 * compaction of closed days, snapshot expiry, and clean-up of files no commit referenced (after an hour,
 * so an ingestion in flight never loses its files).
 */

const config = loadConfig();
const store = lazyStart(() => openBronzeStore(config.bronze));

export const ORPHAN_AGE_MS = 3_600_000;

export async function handler(): Promise<CompactionResult> {
  const { table } = await store();
  return compactBronze(table, {
    targetBytes: config.bronze.compactionTargetBytes,
    snapshotRetentionMs: config.bronze.snapshotRetentionMs,
    retainSnapshots: 10,
    orphanAgeMs: ORPHAN_AGE_MS,
    say: (line) => console.log(`[neptune-compaction] ${table.name}: ${line}`),
  });
}
