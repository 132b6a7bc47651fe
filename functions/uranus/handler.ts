import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { openBronzeFreshness } from "#functions/neptune/bronze-freshness.ts";
import { loadConfig } from "#shared/config/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import { lambdaLogging } from "#shared/logging/index.ts";
import { MINUTE_MS, scaledPeriodMs, scheduleScale } from "#shared/runtime/schedule.ts";
import { loadModels } from "./models.ts";
import { openGoldStore } from "./store.ts";
import { createUranus, type GoldRunSummary, type UranusHandler } from "./uranus.ts";

/**
 * Uranus (gold) as a Lambda function on a schedule. The store and the models are opened on the first
 * invocation and kept for the container's life; a failed start is retried at the next one.
 */

const config = loadConfig();
// 1 on AWS; under the local host, PACKETPULSE_SCHEDULE_SCALE narrows the tick as it shortens the schedule.
const tickMs = scaledPeriodMs(MINUTE_MS, scheduleScale());

async function openUranus(): Promise<UranusHandler> {
  const clickhouse = await openGoldStore(config.clickhouse);
  return createUranus({
    clickhouse,
    models: await loadModels(),
    settings: config.uranus,
    bronze: openBronzeFreshness(config.bronze),
    tickMs,
  });
}

const uranus = lazyStart(openUranus);

async function invoke(event: unknown, context: Context): Promise<GoldRunSummary> {
  return (await uranus())(event, context);
}

// Each line logged during an invocation carries its request id and whether it was a cold start.
export const handler = middy(invoke).use(lambdaLogging());
