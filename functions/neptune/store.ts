import type { BronzeConfig } from "#shared/config/index.ts";
import { type IcebergTable, openTable, openWarehouse, type Warehouse } from "#shared/iceberg/index.ts";
import { bronzeColumns, bronzePartitionSpec } from "./bronze-schema.ts";

export interface BronzeStore {
  warehouse: Warehouse;
  table: IcebergTable;
  close(): Promise<void>;
}

/**
 * Opens the configured warehouse and the bronze table, creating it (format v2, partitioned by day of
 * event_time) when missing and adding columns the contract gained since (schema evolution).
 */
export async function openBronzeStore(config: BronzeConfig): Promise<BronzeStore> {
  const warehouse = await openWarehouse(config.warehouse);
  try {
    const table = await openTable(
      warehouse,
      { namespace: [config.namespace], name: config.table },
      {
        columns: bronzeColumns(),
        partitionSpec: bronzePartitionSpec,
        properties: { "packetpulse.layer": "bronze", "format-version": "2" },
      },
    );
    return { warehouse, table, close: () => warehouse.close() };
  } catch (error) {
    await warehouse.close();
    throw error;
  }
}
