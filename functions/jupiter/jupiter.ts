import { type SessionsHandler, sessionsHandler } from "#shared/lambda/index.ts";
import { processSilverBatch, type SilverBatchDeps } from "./silver-batch.ts";

/** Jupiter's handler with its dependencies: a migrated ClickHouse client and a dead letter sink. */
export function createJupiter(deps: SilverBatchDeps): SessionsHandler {
  return sessionsHandler((records) => processSilverBatch(deps, records));
}
