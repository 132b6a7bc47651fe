import type { RecordMaker, StoredRecord } from "./store-types.ts";

export const storedRecord: RecordMaker<StoredRecord> = (record_offset, timestamp, key, value, headers) => ({
  record_offset,
  timestamp,
  key,
  value,
  headers: headers === null ? null : headers.toString("utf8"),
});

/** The records of {@link LogStore.fetch}'s byte string, in its order. */
export function parseSlab<T>(slab: Buffer, make: RecordMaker<T>, offsetOf: (record: T) => number): T[] {
  const records: T[] = [];
  let at = 0;
  // A decimal integer followed by one space (SQLite wrote it; -1 stands for NULL).
  const integer = (): number => {
    const negative = slab[at] === 45;
    if (negative) at++;
    let value = 0;
    for (let byte = slab[at]!; byte !== 32; byte = slab[++at]!) value = value * 10 + (byte - 48);
    at++;
    return negative ? -value : value;
  };
  let ordered = true;
  let previous = Number.NEGATIVE_INFINITY;
  while (at < slab.length) {
    const offset = integer();
    const timestamp = integer();
    const keyLength = integer();
    const valueLength = integer();
    const headersLength = integer();
    const keyEnd = at + Math.max(keyLength, 0);
    const valueEnd = keyEnd + Math.max(valueLength, 0);
    const headersEnd = valueEnd + Math.max(headersLength, 0);
    records.push(
      make(
        offset,
        timestamp,
        keyLength < 0 ? null : slab.subarray(at, keyEnd),
        valueLength < 0 ? null : slab.subarray(keyEnd, valueEnd),
        headersLength < 0 ? null : slab.subarray(valueEnd, headersEnd),
      ),
    );
    ordered &&= offset > previous;
    previous = offset;
    at = headersEnd;
  }
  // SQLite concatenates in the order its subquery yields the rows; it does not promise to (see fetch()).
  if (!ordered) records.sort((a, b) => offsetOf(a) - offsetOf(b));
  return records;
}
