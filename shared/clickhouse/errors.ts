import { PacketPulseError } from "#shared/errors.ts";

/** Opening, migrating or writing to the silver/gold store failed. */
export class ClickHouseStoreError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClickHouseStoreError";
  }
}

/** A migration file is malformed, or an applied migration was edited afterwards. */
export class MigrationError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}
