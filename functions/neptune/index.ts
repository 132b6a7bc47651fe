/** Neptune, the bronze layer: every `sessions` record in an Apache Iceberg table. See docs/bronze.md. */
export {
  type BronzeBatchDeps,
  type BronzeBatchResult,
  CommitPacer,
  committedOffsets,
  OFFSET_PROPERTY_PREFIX,
  offsetProperties,
  processBronzeBatch,
} from "./bronze-batch.ts";
export { BronzeEncoder, type EncodedChunk, encodeChunk } from "./bronze-encoder.ts";
export { type BronzeFreshness, openBronzeFreshness } from "./bronze-freshness.ts";
export { BronzeBatchBuilder, type BronzeVerdict } from "./bronze-rows.ts";
export {
  bronzeColumns,
  bronzePartitionSpec,
  contractColumns,
  dayOf,
  PARTITION_FIELD,
  PLATFORM_COLUMNS,
  partitionPath,
} from "./bronze-schema.ts";
export { type CompactionOptions, type CompactionResult, compactBronze, planBins } from "./compaction.ts";
export { createNeptune } from "./neptune.ts";
export { type BronzeStore, openBronzeStore } from "./store.ts";
