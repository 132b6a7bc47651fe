/**
 * A small Apache Iceberg (format v2) writer and reader for the bronze layer: Parquet data files with field
 * ids and statistics (hyparquet-writer), Avro manifests (avsc), lossless metadata JSON, a file-system or
 * REST catalog, local or S3 storage. See docs/bronze.md and docs/decisions/008-bronze-iceberg-writer.md.
 */
export { fileSystemCatalog } from "./catalog/filesystem.ts";
export { restCatalog } from "./catalog/rest.ts";
export type { CreateTableRequest, IcebergCatalog, LoadedTable } from "./catalog/types.ts";
export { type CellValue, type ColumnBatch, dataFileName, encodeDataFile } from "./datafile.ts";
export { CommitConflictError, IcebergError, TableNotFoundError } from "./errors.ts";
export { parseIcebergJson, stringifyIcebergJson, toBigInt } from "./json.ts";
export { readManifest, readManifestList } from "./manifest.ts";
export {
  currentSchema,
  currentSnapshot,
  evolvedSchema,
  initialSchema,
  parseTableMetadata,
} from "./metadata.ts";
export { openTable, openWarehouse, type Warehouse, type WarehouseConfig } from "./open.ts";
export { nativeSnappy, nativeUnsnappy } from "./snappy.ts";
export { localStorage } from "./storage/local.ts";
export type { WarehouseStorage } from "./storage/types.ts";
export { type CommitPlan, IcebergTable, type LiveDataFile } from "./table.ts";
export type * from "./types.ts";
export { deserializeValue, serializeValue } from "./values.ts";
