import { parse, stringify } from "lossless-json";
import { IcebergError } from "./errors.ts";

/**
 * Iceberg metadata holds 64-bit ids (snapshot ids are random longs) that JSON.parse would round. Integers
 * beyond 2^53 are parsed as bigint, others as number; bigints are written back as plain JSON integers.
 */
export function parseIcebergJson(text: string, what: string): unknown {
  try {
    return parse(text, null, (value) => {
      if (/^-?\d+$/.test(value)) {
        const big = BigInt(value);
        return big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)
          ? big
          : Number(value);
      }
      return Number(value);
    });
  } catch (error) {
    throw new IcebergError(`${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

export function stringifyIcebergJson(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new IcebergError("cannot serialise Iceberg metadata to JSON");
  return text;
}

/** A 64-bit id that may have been parsed as a number or a bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw new IcebergError(`expected a 64-bit integer, got ${String(value)}`);
}
