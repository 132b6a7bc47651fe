/**
 * Where a warehouse's files live: a local folder or an S3-compatible bucket. Locations are what Iceberg
 * metadata records: absolute paths for a local warehouse, `s3://bucket/key` for S3.
 */
export interface WarehouseStorage {
  readonly kind: "local" | "s3";
  read(location: string): Promise<Buffer>;
  /** Writes (or replaces) a file; the file is complete when the promise resolves. */
  write(location: string, bytes: Buffer): Promise<void>;
  /** Creates the file only when nothing is there; false when it exists (the file-system catalog's commit). */
  writeIfAbsent(location: string, bytes: Buffer): Promise<boolean>;
  exists(location: string): Promise<boolean>;
  /** Every file below a folder location, recursively, as locations. */
  list(folder: string): Promise<string[]>;
  delete(location: string): Promise<void>;
  close(): Promise<void>;
}
