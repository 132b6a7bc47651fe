import { randomBytes } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import avro from "avsc";
import { IcebergError } from "./errors.ts";

/**
 * Avro object container files for manifests and manifest lists, with avsc for the encoding. Iceberg
 * needs two things avsc's stream encoder does not give together: 64-bit longs (snapshot ids exceed 2^53,
 * so longs are BigInt here) and the writer schema in the header exactly as given, with its `field-id`
 * attributes (readers such as pyiceberg map columns by those ids). The container framing itself is small
 * and fixed by the Avro spec (https://avro.apache.org/docs/1.11.1/specification/#object-container-files),
 * so it is written here around avsc's type encoding.
 */

const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint | number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: unknown) => BigInt(value as number),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) => typeof value === "bigint",
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const metadataType = avro.Type.forSchema({ type: "map", values: "bytes" });
const plainLong = avro.Type.forSchema("long");

/** An avsc type whose longs are BigInt. */
export function avroType(schema: object): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigintLong } });
}

/** Encodes records as an Avro container file (deflate codec) with `schema` and `metadata` in the header. */
export function writeAvroFile(
  schema: object,
  records: readonly unknown[],
  metadata: Record<string, string>,
): Buffer {
  const type = avroType(schema);
  const sync = randomBytes(16);
  const meta: Record<string, Buffer> = {
    "avro.schema": Buffer.from(JSON.stringify(schema)),
    "avro.codec": Buffer.from("deflate"),
  };
  for (const [key, value] of Object.entries(metadata)) meta[key] = Buffer.from(value);
  const parts: Buffer[] = [MAGIC, metadataType.toBuffer(meta), sync];
  if (records.length > 0) {
    const body = deflateRawSync(Buffer.concat(records.map((record) => type.toBuffer(record))));
    parts.push(plainLong.toBuffer(records.length), plainLong.toBuffer(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

export interface AvroFile {
  metadata: Record<string, string>;
  records: Record<string, unknown>[];
}

/** Decodes an Avro container file written by {@link writeAvroFile} or another writer (null/deflate codec). */
export function readAvroFile(bytes: Buffer, what: string): AvroFile {
  if (bytes.length < 4 || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw new IcebergError(`${what} is not an Avro container file`);
  }
  const header = metadataType.decode(bytes, 4);
  if (header.offset < 0) throw new IcebergError(`${what}: truncated Avro header`);
  const meta = header.value as Record<string, Buffer>;
  const metadata = Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, v.toString("utf8")]));
  const codec = metadata["avro.codec"] ?? "null";
  if (codec !== "null" && codec !== "deflate") {
    throw new IcebergError(`${what}: unsupported Avro codec ${codec}`);
  }
  const type = avroType(JSON.parse(metadata["avro.schema"] ?? "null") as object);
  let pos = header.offset + 16;
  const records: Record<string, unknown>[] = [];
  while (pos < bytes.length) {
    const count = plainLong.decode(bytes, pos);
    const size = plainLong.decode(bytes, count.offset);
    const start = size.offset;
    const end = start + (size.value as number);
    const raw = bytes.subarray(start, end);
    const block = codec === "deflate" ? inflateRawSync(raw) : raw;
    let at = 0;
    for (let i = 0; i < (count.value as number); i++) {
      const decoded = type.decode(block, at);
      if (decoded.offset < 0) throw new IcebergError(`${what}: truncated Avro block`);
      records.push(decoded.value as Record<string, unknown>);
      at = decoded.offset;
    }
    pos = end + 16;
  }
  return { metadata, records };
}
