import { Partitioners, type PartitionMetadata } from "kafkajs";
import { EventLogError } from "#shared/errors.ts";

/**
 * Kafka's default partitioner for keyed records: `toPositive(murmur2(keyBytes)) % partitionCount`, as the
 * Java producer computes it (`BuiltInPartitioner.partitionForKey`), so the embedded log and a real Kafka put
 * a device's events on the same partition.
 *
 * The hash comes from kafkajs's `Partitioners.DefaultPartitioner` (Java-compatible since kafkajs 2.0), called
 * through its public API with synthetic partition metadata rather than through an internal module path.
 * String keys are hashed as their UTF-8 bytes, as Kafka's StringSerializer encodes them.
 */
const kafkaDefaultPartitioner = Partitioners.DefaultPartitioner();

const syntheticMetadata = new Map<number, PartitionMetadata[]>();

function metadataFor(partitionCount: number): PartitionMetadata[] {
  let metadata = syntheticMetadata.get(partitionCount);
  if (metadata === undefined) {
    metadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    syntheticMetadata.set(partitionCount, metadata);
  }
  return metadata;
}

/** Maximum partition count accepted; Kafka's own practical limit per topic is far below this. */
const MAX_PARTITIONS = 100_000;

/**
 * Devices send many events each, and kafkajs's murmur2 costs a few microseconds per key, so string keys
 * remember their partition. The cache is dropped whole when it reaches its bound.
 */
const MAX_CACHED_KEYS = 100_000;
const cachedPartitions = new Map<string, number>();

export function partitionForKey(key: string | Buffer, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > MAX_PARTITIONS) {
    throw new EventLogError(
      `partitionCount must be a whole number between 1 and ${MAX_PARTITIONS}, got ${partitionCount}`,
    );
  }
  const cacheKey = typeof key === "string" ? `${partitionCount}:${key}` : undefined;
  if (cacheKey !== undefined) {
    const cached = cachedPartitions.get(cacheKey);
    if (cached !== undefined) return cached;
  }
  const partition = kafkaDefaultPartitioner({
    topic: "",
    partitionMetadata: metadataFor(partitionCount),
    message: { key, value: null },
  });
  if (cacheKey !== undefined) {
    if (cachedPartitions.size >= MAX_CACHED_KEYS) cachedPartitions.clear();
    cachedPartitions.set(cacheKey, partition);
  }
  return partition;
}
