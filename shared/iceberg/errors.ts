import { PacketPulseError } from "#shared/errors.ts";

/** Something wrong with an Iceberg table, its files or its catalog. */
export class IcebergError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IcebergError";
  }
}

/**
 * Another writer committed first: the requirements of a commit (base snapshot, schema) no longer hold.
 * The caller reloads the table and retries on the new base (optimistic concurrency).
 */
export class CommitConflictError extends IcebergError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CommitConflictError";
  }
}

export class TableNotFoundError extends IcebergError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TableNotFoundError";
  }
}
