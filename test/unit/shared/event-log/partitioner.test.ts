import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventLogError } from "#shared/errors.ts";
import { partitionForKey } from "#shared/event-log/partitioner.ts";

/**
 * murmur2 results from Kafka's own UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/common/utils),
 * the values the Java producer computes for these UTF-8 keys.
 */
const javaMurmur2Vectors: [string, number][] = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
  ["", 275646681],
];

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs). */
const toPositive = (hash: number) => hash & 0x7fffffff;

/**
 * An independent transcription of Kafka's `Utils.murmur2` (32-bit int arithmetic via Math.imul), used as an
 * oracle for keys beyond the published vectors: multi-byte UTF-8, binary keys, every length mod 4.
 */
function javaMurmur2(data: Buffer): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  const length = data.length;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 mixes the tail bytes by falling through
    case 3:
      h ^= data[tail + 2]! << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 mixes the tail bytes by falling through
    case 2:
      h ^= data[tail + 1]! << 8;
    case 1:
      h ^= data[tail]!;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

describe("partitionForKey", () => {
  it("matches the oracle on Kafka's published murmur2 vectors", () => {
    // Prepare
    const keys = javaMurmur2Vectors.map(([key]) => key);

    // Act
    const hashes = keys.map((key) => javaMurmur2(Buffer.from(key, "utf8")));

    // Assess
    expect(hashes).toEqual(javaMurmur2Vectors.map(([, hash]) => hash));
  });

  it.each(javaMurmur2Vectors)("puts key %j where the Java producer does (murmur2 = %i)", (key, javaHash) => {
    // Prepare
    const partitionCounts = [1, 2, 3, 6, 7, 10, 12, 32, 100, 1000, 99_991];

    // Act
    const partitions = partitionCounts.map((count) => partitionForKey(key, count));

    // Assess
    expect(partitions).toEqual(partitionCounts.map((count) => toPositive(javaHash) % count));
  });

  it("places the kafkajs issue #357 key like the Java client (partition 9 of 12)", () => {
    // Prepare: the key and partition a Java producer gave in https://github.com/tulios/kafkajs/issues/357
    const key = "100:48069";

    // Act
    const partition = partitionForKey(key, 12);

    // Assess
    expect(partition).toBe(9);
  });

  it("hashes a string key as its UTF-8 bytes", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.integer({ min: 1, max: 512 }),
        (key, n) => {
          expect(partitionForKey(key, n)).toBe(partitionForKey(Buffer.from(key, "utf8"), n));
        },
      ),
    );
  });

  it("agrees with the Java murmur2 oracle for arbitrary binary keys of every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 512 }), (bytes, n) => {
        const key = Buffer.from(bytes);
        expect(partitionForKey(key, n)).toBe(toPositive(javaMurmur2(key)) % n);
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects a partition count that is not a positive whole number", () => {
    for (const count of [0, -1, 1.5, Number.NaN]) {
      expect(() => partitionForKey("device-1", count)).toThrow(EventLogError);
    }
  });
});
