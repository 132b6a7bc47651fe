import { type SessionsHandler, sessionsHandler } from "#shared/lambda/index.ts";
import { type BronzeBatchDeps, processBronzeBatch } from "./bronze-batch.ts";

/** Neptune's handler with its dependencies: the bronze table and a dead letter sink. */
export function createNeptune(deps: BronzeBatchDeps): SessionsHandler {
  return sessionsHandler((records) => processBronzeBatch(deps, records));
}
