import type { PrimitiveType } from "./types.ts";

/**
 * Iceberg's single-value binary serialisation, used for column bounds in manifests and partition bounds
 * in manifest lists (https://iceberg.apache.org/spec/#binary-single-value-serialization): little-endian
 * ints and longs, IEEE 754 doubles, UTF-8 strings; timestamps are microseconds as a long.
 */
export function serializeValue(type: PrimitiveType, value: number | bigint | string | boolean): Buffer {
  switch (type) {
    case "boolean":
      return Buffer.from([value ? 1 : 0]);
    case "int":
    case "date": {
      const buffer = Buffer.alloc(4);
      buffer.writeInt32LE(Number(value));
      return buffer;
    }
    case "long":
    case "timestamptz": {
      const buffer = Buffer.alloc(8);
      buffer.writeBigInt64LE(BigInt(value));
      return buffer;
    }
    case "double": {
      const buffer = Buffer.alloc(8);
      buffer.writeDoubleLE(Number(value));
      return buffer;
    }
    case "string":
      return Buffer.from(String(value), "utf8");
  }
}

export function deserializeValue(type: PrimitiveType, bytes: Buffer): number | bigint | string | boolean {
  switch (type) {
    case "boolean":
      return bytes[0] === 1;
    case "int":
    case "date":
      return bytes.readInt32LE(0);
    case "long":
    case "timestamptz":
      return bytes.readBigInt64LE(0);
    case "double":
      return bytes.readDoubleLE(0);
    case "string":
      return bytes.toString("utf8");
  }
}
