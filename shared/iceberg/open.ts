import { fileSystemCatalog } from "./catalog/filesystem.ts";
import { restCatalog } from "./catalog/rest.ts";
import type { IcebergCatalog } from "./catalog/types.ts";
import { initialSchema } from "./metadata.ts";
import { localStorage } from "./storage/local.ts";
import { s3Storage } from "./storage/s3.ts";
import type { WarehouseStorage } from "./storage/types.ts";
import { IcebergTable } from "./table.ts";
import type { ColumnSpec, PartitionSpec, Schema, TableIdentifier } from "./types.ts";

/** Where tables live and who keeps their metadata pointer; validated by shared/config. */
export type WarehouseConfig =
  | { catalog: "filesystem"; warehouse: string }
  | {
      catalog: "rest";
      url: string;
      token?: string;
      /** Warehouse location (`s3://bucket/prefix`) or name, passed to the catalog's config endpoint. */
      warehouse?: string;
      s3: {
        region: string;
        endpoint?: string;
        forcePathStyle: boolean;
        credentials?: { accessKeyId: string; secretAccessKey: string };
      };
    };

export interface Warehouse {
  catalog: IcebergCatalog;
  storage: WarehouseStorage;
  close(): Promise<void>;
}

/** Opens the configured storage and catalog (the S3 SDK is loaded only for the REST/S3 backend). */
export async function openWarehouse(config: WarehouseConfig): Promise<Warehouse> {
  if (config.catalog === "filesystem") {
    const storage = localStorage();
    const catalog = fileSystemCatalog(config.warehouse, storage);
    return { catalog, storage, close: () => catalog.close() };
  }
  const storage = await s3Storage(config.s3);
  const catalog = await restCatalog({ url: config.url, token: config.token, warehouse: config.warehouse });
  return {
    catalog,
    storage,
    close: async () => {
      await catalog.close();
      await storage.close();
    },
  };
}

/**
 * Opens a table, creating it with `columns` and the partition spec `partitionSpec(schema)` when missing,
 * and adding any column of `columns` the table lacks (schema evolution without rewriting data).
 */
export async function openTable(
  warehouse: Warehouse,
  id: TableIdentifier,
  definition: {
    columns: readonly ColumnSpec[];
    partitionSpec: (schema: Schema) => PartitionSpec;
    properties?: Record<string, string>;
  },
): Promise<IcebergTable> {
  let loaded = await warehouse.catalog.loadTable(id);
  if (!loaded) {
    const schema = initialSchema(definition.columns);
    loaded = await warehouse.catalog.createTable(id, {
      schema,
      spec: definition.partitionSpec(schema),
      properties: { "write.format.default": "parquet", ...definition.properties },
    });
  }
  const table = new IcebergTable(warehouse.catalog, warehouse.storage, id, loaded);
  await table.addMissingColumns(definition.columns);
  return table;
}
