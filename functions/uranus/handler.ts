import type { Context } from "aws-lambda";
import { loadConfig } from "#shared/config/index.ts";
import { loadModels } from "./models.ts";
import { openGoldStore } from "./store.ts";
import { createUranus, type GoldRunSummary, type UranusHandler } from "./uranus.ts";

/**
 * Uranus (gold) as a Lambda function on a schedule. The store and the models are opened on the first
 * invocation and kept for the container's life; a failed start is retried at the next one.
 */

const config = loadConfig();
let uranus: Promise<UranusHandler> | undefined;

async function openUranus(): Promise<UranusHandler> {
  const clickhouse = await openGoldStore(config.clickhouse);
  return createUranus({ clickhouse, models: await loadModels(), settings: config.uranus });
}

export async function handler(event: unknown, context: Context): Promise<GoldRunSummary> {
  uranus ??= openUranus().catch((error: unknown) => {
    uranus = undefined;
    throw error;
  });
  return (await uranus)(event, context);
}
