/** Uranus, the gold layer: scheduled SQL models over silver. See docs/gold.md and docs/metrics.md. */
export { GoldRunError, ModelDefinitionError } from "./errors.ts";
export { type BronzeFreshness, type BronzeFreshnessSource, readBronzeFreshness } from "./freshness.ts";
export {
  GOLD_MODELS_DIR,
  type GoldModel,
  loadModels,
  type ModelStrategy,
  orderModels,
  parseModel,
} from "./models.ts";
export {
  chTime,
  type GoldProgress,
  type GoldRunOptions,
  type GoldRunResult,
  type ModelRunResult,
  type RunMode,
  runGold,
} from "./runner.ts";
export {
  type GoldSchedule,
  parseScheduleEvent,
  ScheduleEventError,
  scheduleEventSchema,
} from "./schedule-event.ts";
export { GOLD_MIGRATIONS_DIR, migrateGold, openGoldStore } from "./store.ts";
export {
  createUranus,
  type GoldRunSummary,
  scheduleParser,
  scheduleTick,
  summarise,
  type UranusHandler,
} from "./uranus.ts";
