import type {
  PartitionSpec,
  Schema,
  TableIdentifier,
  TableMetadata,
  TableRequirement,
  TableUpdate,
} from "../types.ts";

export interface LoadedTable {
  metadataLocation: string;
  metadata: TableMetadata;
}

export interface CreateTableRequest {
  schema: Schema;
  spec: PartitionSpec;
  properties: Record<string, string>;
}

/**
 * An Iceberg catalog: where the pointer to a table's current metadata lives. Every commit states its
 * requirements (base snapshot, schema) and is applied atomically only if they still hold; otherwise it
 * throws a CommitConflictError and the writer retries on the new metadata.
 */
export interface IcebergCatalog {
  readonly kind: "filesystem" | "rest";
  loadTable(id: TableIdentifier): Promise<LoadedTable | undefined>;
  /** Creates the table (and its namespace); when it already exists, returns it as it is. */
  createTable(id: TableIdentifier, request: CreateTableRequest): Promise<LoadedTable>;
  commit(id: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable>;
  close(): Promise<void>;
}
