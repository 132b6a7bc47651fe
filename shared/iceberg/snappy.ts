import { createRequire } from "node:module";

/**
 * Snappy (raw block format, as Parquet uses it) through the native `snappy` package when it can be loaded:
 * the embedded mode, where it compresses a bronze file in a fraction of the time GZIP takes. Undefined
 * otherwise (Lambda bundles leave native packages out), and hyparquet-writer's JavaScript Snappy is used.
 */
const snappy = (() => {
  try {
    return createRequire(import.meta.url)("snappy") as {
      compressSync: (input: Uint8Array) => Buffer;
      uncompressSync: (input: Uint8Array) => Buffer;
    };
  } catch {
    return undefined;
  }
})();

const asBytes = (out: Buffer) => new Uint8Array(out.buffer, out.byteOffset, out.byteLength);

export const nativeSnappy: ((input: Uint8Array) => Uint8Array) | undefined = snappy
  ? (input) => asBytes(snappy.compressSync(input))
  : undefined;

/** The reverse, for reading files back (compaction); undefined where {@link nativeSnappy} is. */
export const nativeUnsnappy: ((input: Uint8Array) => Uint8Array) | undefined = snappy
  ? (input) => asBytes(snappy.uncompressSync(input))
  : undefined;
