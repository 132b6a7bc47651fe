import middy from "@middy/core";
import { loadConfig } from "#shared/config/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import { lambdaLogging, logger } from "#shared/logging/index.ts";
import { type CompactionResult, compactBronze } from "./compaction.ts";
import { openBronzeStore } from "./store.ts";

/**
 * Neptune's scheduled maintenance (a `schedule` event in serverless.yml, also run by `npm start`):
 * compaction of closed days, snapshot expiry, and clean-up of files no commit referenced (after an hour,
 * so an ingestion in flight never loses its files).
 */

const config = loadConfig();
const compactionLog = logger("compaction");
const store = lazyStart(() => openBronzeStore(config.bronze));

export const ORPHAN_AGE_MS = 3_600_000;

async function compact(): Promise<CompactionResult> {
  const { table } = await store();
  return compactBronze(table, {
    targetBytes: config.bronze.compactionTargetBytes,
    snapshotRetentionMs: config.bronze.snapshotRetentionMs,
    retainSnapshots: 10,
    orphanAgeMs: ORPHAN_AGE_MS,
    say: (line) => compactionLog.info(`${table.name}: ${line}`),
  });
}

// Each line logged during an invocation carries its request id and whether it was a cold start.
export const handler = middy(compact).use(lambdaLogging());
