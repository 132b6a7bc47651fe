import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { partitionForKey } from "#shared/event-log/partitioner.ts";
import type {
  ConsumedRecord,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogRecordInput,
  RecordBatch,
} from "#shared/event-log/types.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * The behaviour every EventLog backend owes its callers, run against each backend (embedded SQLite, Kafka).
 *
 * `makeLog` must return a log over the same storage every time it is called (the same file, the same
 * cluster): one test closes its log and opens a new one to check that committed offsets survive. Topic and
 * group names get a random suffix, so the suite can run repeatedly against a long-lived broker.
 */
export type MakeEventLog = () => Promise<{ log: EventLog; cleanup: () => Promise<void> }>;

export interface EventLogContractOptions {
  /** How long records may take to reach a consumer (Kafka group joins take seconds). Default 20 s. */
  deliveryTimeoutMs?: number;
}

const uniqueName = (prefix: string) => `contract-${prefix}-${randomUUID().slice(0, 8)}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const recordsFor = (count: number, prefix = "value", keys = 7): LogRecordInput[] =>
  Array.from({ length: count }, (_, i) => ({ key: `device-${i % keys}`, value: `${prefix}-${i}` }));

/** Kafka does not promise an order of partitions in offset listings; compare them sorted. */
const byPartition = <T extends { partition: number }>(rows: T[]) =>
  [...rows].sort((a, b) => a.partition - b.partition);

const coordinate = (record: { partition: number; offset: string }) => `${record.partition}:${record.offset}`;

const byOffset = (a: { offset: string }, b: { offset: string }) =>
  BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0;

/** Asserts offsets are consecutive integers (no gaps, no repeats) in the order given. */
function expectConsecutive(offsets: string[], from?: bigint) {
  const numbers = offsets.map((offset) => BigInt(offset));
  if (from !== undefined && numbers.length > 0) expect(numbers[0]).toBe(from);
  for (let i = 1; i < numbers.length; i++) expect(numbers[i]! - numbers[i - 1]!).toBe(1n);
}

export function describeEventLogContract(
  name: string,
  makeLog: MakeEventLog,
  options: EventLogContractOptions = {},
): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 20_000;
  const testTimeoutMs = deliveryTimeoutMs * 3 + 10_000;

  describe(`EventLog contract: ${name}`, () => {
    let handle: Awaited<ReturnType<MakeEventLog>>;
    let consumers: LogConsumer[] = [];

    beforeEach(async () => {
      handle = await makeLog();
    });

    afterEach(async () => {
      await Promise.allSettled(consumers.map((consumer) => consumer.stop()));
      consumers = [];
      await handle.cleanup();
    });

    /** Starts a consumer that keeps every batch it is given. */
    function collect(
      log: EventLog,
      consumerOptions: Omit<ConsumerOptions, "eachBatch"> & {
        eachBatch?: (batch: RecordBatch) => Promise<void>;
      },
    ) {
      const batches: RecordBatch[] = [];
      const records: ConsumedRecord[] = [];
      const consumer = log.consume({
        ...consumerOptions,
        eachBatch: async (batch) => {
          await consumerOptions.eachBatch?.(batch);
          batches.push(batch);
          records.push(...batch.records);
        },
      });
      consumers.push(consumer);
      committedPastReceived.set(records, async () => {
        for (const topic of new Set(batches.map((batch) => batch.topic))) {
          const committed = await log.committedOffsets(consumerOptions.groupId, topic);
          for (const batch of batches.filter((b) => b.topic === topic)) {
            const next = BigInt(batch.records.at(-1)!.offset) + 1n;
            const offset = committed.find((c) => c.partition === batch.partition)?.offset;
            if (offset === null || offset === undefined || BigInt(offset) < next) return false;
          }
        }
        return true;
      });
      return { consumer, batches, records };
    }

    /** Per collected record list: whether the group has committed past every record it received. */
    const committedPastReceived = new WeakMap<ConsumedRecord[], () => Promise<boolean>>();

    /**
     * Waits for `count` records, then for the group to commit past all of them: the consumer has finished
     * with every batch it was given, so a record delivered twice would be in `records` by now.
     */
    async function receive(records: ConsumedRecord[], count: number) {
      await waitUntil(() => records.length >= count, `${count} records`, deliveryTimeoutMs);
      await waitUntil(
        committedPastReceived.get(records)!,
        "commits past the received records",
        deliveryTimeoutMs,
      );
    }

    async function committedMatchesHigh(log: EventLog, groupId: string, topic: string) {
      const [offsets, committed] = await Promise.all([
        log.offsets(topic),
        log.committedOffsets(groupId, topic),
      ]);
      return offsets.every(
        ({ partition, high }) =>
          high === "0" || committed.find((c) => c.partition === partition)?.offset === high,
      );
    }

    it("creates missing topics and leaves existing ones as they are", async () => {
      // Prepare
      const { log } = handle;
      const three = uniqueName("three");
      const one = uniqueName("one");

      // Act
      await log.ensureTopics([
        { topic: three, partitions: 3 },
        { topic: one, partitions: 1 },
      ]);
      await log.ensureTopics([{ topic: three, partitions: 3 }]);
      await log.ensureTopics([{ topic: three, partitions: 5 }]);

      // Assess
      expect(await log.partitionCount(three)).toBe(3);
      expect(await log.partitionCount(one)).toBe(1);
    });

    it("returns coordinates in input order, on the partition Kafka's default partitioner picks", async () => {
      // Prepare
      const { log } = handle;
      const topic = uniqueName("coordinates");
      await log.ensureTopics([{ topic, partitions: 4 }]);
      const input = recordsFor(20, "ordered", 20);

      // Act
      const appended = await log.append(topic, input);

      // Assess
      expect(appended).toHaveLength(input.length);
      appended.forEach((coordinates, i) => {
        expect(coordinates.topic).toBe(topic);
        expect(coordinates.partition).toBe(partitionForKey(input[i]!.key, 4));
        expect(coordinates.offset).toMatch(/^\d+$/);
      });
      const { records } = collect(log, {
        groupId: uniqueName("group"),
        topics: [topic],
        fromBeginning: true,
      });
      await receive(records, input.length);
      const valueAt = new Map(records.map((record) => [coordinate(record), record.value?.toString("utf8")]));
      appended.forEach((coordinates, i) => {
        expect(valueAt.get(coordinate(coordinates))).toBe(input[i]!.value);
      });
    });

    it("keeps a key on one partition and numbers each partition from 0 without gaps", async () => {
      // Prepare
      const { log } = handle;
      const topic = uniqueName("offsets");
      await log.ensureTopics([{ topic, partitions: 3 }]);

      // Act
      const appended = [
        ...(await log.append(topic, recordsFor(10, "first", 5))),
        ...(await log.append(topic, recordsFor(10, "second", 5))),
        ...(await log.append(topic, recordsFor(10, "third", 5))),
      ];

      // Assess
      const keys = [0, 1, 2].flatMap(() => recordsFor(10, "", 5).map((record) => record.key));
      const partitionsByKey = new Map<string, Set<number>>();
      appended.forEach((coordinates, i) => {
        const partitions = partitionsByKey.get(keys[i]!) ?? new Set<number>();
        partitions.add(coordinates.partition);
        partitionsByKey.set(keys[i]!, partitions);
      });
      for (const partitions of partitionsByKey.values()) expect(partitions.size).toBe(1);
      for (const partition of [0, 1, 2]) {
        const offsets = appended.filter((c) => c.partition === partition).map((c) => c.offset);
        expectConsecutive(offsets, 0n);
      }
    });

    it("refuses batch bounds that are not positive, naming the option", async () => {
      // Prepare
      const { log } = handle;
      const topic = uniqueName("bounds");
      await log.ensureTopics([{ topic, partitions: 1 }]);
      const consume = (bounds: Partial<ConsumerOptions>) => () =>
        log.consume({
          groupId: uniqueName("group"),
          topics: [topic],
          fromBeginning: true,
          eachBatch: async () => {},
          ...bounds,
        });

      // Act + Assess
      expect(consume({ maxBatchSize: 0 })).toThrow(/maxBatchSize must be a positive whole number, got 0/);
      expect(consume({ maxBatchSize: 2.5 })).toThrow(/maxBatchSize/);
      expect(consume({ maxBatchBytes: 0 })).toThrow(/maxBatchBytes must be a positive number, got 0/);
      expect(consume({ maxBatchBytes: Number.NaN })).toThrow(/maxBatchBytes/);
    });

    it(
      "stops a batch at maxBatchBytes, hands the rest over next, and lets an oversized record through alone",
      async () => {
        // Prepare: one partition, values of 100 bytes, one of 1,000; a bound of 350 bytes fits three.
        const { log } = handle;
        const topic = uniqueName("bytes");
        await log.ensureTopics([{ topic, partitions: 1 }]);
        const input: LogRecordInput[] = Array.from({ length: 25 }, (_, i) => ({
          key: "k",
          value: `${String(i).padStart(2, "0")}${"x".repeat(i === 10 ? 998 : 98)}`,
        }));
        await log.append(topic, input);
        const sizeOf = (record: ConsumedRecord) => record.value?.length ?? 0;

        // Act
        const { records, batches } = collect(log, {
          groupId: uniqueName("group"),
          topics: [topic],
          fromBeginning: true,
          maxBatchSize: 10,
          maxBatchBytes: 350,
          recordBytes: sizeOf,
        });
        await receive(records, input.length);

        // Assess: every record once and in order; each batch within the bound unless it is the big record
        // alone; a batch followed at once by more records says it is full.
        expect(records.map((r) => r.value?.toString("utf8").slice(0, 2))).toEqual(
          input.map((r) => String(r.value).slice(0, 2)),
        );
        const sizes = batches.map((b) => b.records.map(sizeOf));
        for (const batch of sizes) {
          expect(batch.length).toBeGreaterThan(0);
          if (batch.length > 1) expect(batch.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(350);
        }
        expect(sizes).toContainEqual([1_000]);
        // The first batch had 25 records waiting: it is cut at three and full.
        expect(sizes[0]).toEqual([100, 100, 100]);
        expect(batches[0]!.full).toBe(true);
        // Each batch says its size as the bound counted it.
        expect(batches.map((b) => b.bytes)).toEqual(sizes.map((batch) => batch.reduce((a, b) => a + b, 0)));
      },
      testTimeoutMs,
    );

    it(
      "delivers every record once to a group, in offset order per partition, with headers as Buffers",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("delivery");
        await log.ensureTopics([{ topic, partitions: 3 }]);
        const binary = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
        const input: LogRecordInput[] = Array.from({ length: 60 }, (_, i) => ({
          key: `device-${i % 7}`,
          value: i % 5 === 0 ? Buffer.concat([binary, Buffer.from([i])]) : `{"n":${i},"text":"Ωμέγα ✓"}`,
          headers: { source: "contract", seq: String(i) },
          timestamp: 1_700_000_000_000 + i,
        }));
        await log.append(topic, input.slice(0, 30));
        const { records, batches } = collect(log, {
          groupId: uniqueName("group"),
          topics: [topic],
          fromBeginning: true,
          maxBatchSize: 7,
        });
        await log.append(topic, input.slice(30));

        // Act
        await receive(records, input.length);

        // Assess
        expect(records).toHaveLength(input.length);
        for (const batch of batches) {
          expect(batch.topic).toBe(topic);
          expect(batch.records.length).toBeGreaterThan(0);
          expect(batch.records.length).toBeLessThanOrEqual(7);
          // Not bounded by bytes: no size is counted.
          expect(batch.bytes).toBeUndefined();
          for (const record of batch.records) expect(record.partition).toBe(batch.partition);
        }
        for (const partition of [0, 1, 2]) {
          expectConsecutive(
            records.filter((record) => record.partition === partition).map((record) => record.offset),
            0n,
          );
        }
        for (const record of records) {
          const seq = Number(record.headers.seq?.toString("utf8"));
          const sent = input[seq]!;
          expect(Buffer.isBuffer(record.headers.source)).toBe(true);
          expect(record.headers.source?.toString("utf8")).toBe("contract");
          expect(record.key?.toString("utf8")).toBe(sent.key);
          expect(
            record.value?.equals(Buffer.isBuffer(sent.value) ? sent.value : Buffer.from(sent.value)),
          ).toBe(true);
          expect(record.timestamp).toBe(sent.timestamp);
          expect(record.partition).toBe(partitionForKey(sent.key, 3));
        }
      },
      testTimeoutMs,
    );

    it(
      "hands batches of several partitions over side by side, never two of one partition",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("concurrent");
        await log.ensureTopics([{ topic, partitions: 3 }]);
        await log.append(topic, recordsFor(90, "value", 30));
        const inFlight = new Map<number, number>();
        let mostAtOnce = 0;
        let samePartitionOverlap = false;
        const { records } = collect(log, {
          groupId: uniqueName("group"),
          topics: [topic],
          fromBeginning: true,
          maxBatchSize: 5,
          partitionsConsumedConcurrently: 3,
          eachBatch: async (batch) => {
            const running = inFlight.get(batch.partition) ?? 0;
            if (running > 0) samePartitionOverlap = true;
            inFlight.set(batch.partition, running + 1);
            mostAtOnce = Math.max(mostAtOnce, [...inFlight.values()].filter((n) => n > 0).length);
            await sleep(40);
            inFlight.set(batch.partition, inFlight.get(batch.partition)! - 1);
          },
        });

        // Act
        await receive(records, 90);

        // Assess
        expect(records).toHaveLength(90);
        expect(mostAtOnce).toBeGreaterThan(1);
        expect(samePartitionOverlap).toBe(false);
        for (const partition of [0, 1, 2]) {
          expectConsecutive(
            records.filter((record) => record.partition === partition).map((record) => record.offset),
            0n,
          );
        }
      },
      testTimeoutMs,
    );

    it(
      "commits nothing when eachBatch throws, so the group receives those records again",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("failure");
        const groupId = uniqueName("group");
        await log.ensureTopics([{ topic, partitions: 2 }]);
        await log.append(topic, recordsFor(10));

        // Act
        const failing = log.consume({
          groupId,
          topics: [topic],
          fromBeginning: true,
          eachBatch: async () => {
            throw new Error("handler failed on purpose");
          },
        });
        consumers.push(failing);

        // Assess
        await expect(failing.done).rejects.toThrow("handler failed on purpose");
        expect((await log.committedOffsets(groupId, topic)).map((c) => c.offset)).toEqual([null, null]);
        const retry = collect(log, { groupId, topics: [topic], fromBeginning: true });
        await receive(retry.records, 10);
        expect(retry.records.map((record) => record.value?.toString()).sort()).toEqual(
          recordsFor(10)
            .map((record) => record.value)
            .sort(),
        );
      },
      testTimeoutMs,
    );

    it(
      "commits the batches that succeeded before eachBatch threw, and only those",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("partial");
        const groupId = uniqueName("group");
        await log.ensureTopics([{ topic, partitions: 1 }]);
        await log.append(topic, recordsFor(9));
        let calls = 0;

        // Act
        const failing = log.consume({
          groupId,
          topics: [topic],
          fromBeginning: true,
          maxBatchSize: 3,
          eachBatch: async (batch) => {
            calls++;
            if (calls === 2) throw new Error(`second batch failed at offset ${batch.records[0]?.offset}`);
          },
        });
        consumers.push(failing);

        // Assess
        await expect(failing.done).rejects.toThrow("second batch failed at offset 3");
        expect(await log.committedOffsets(groupId, topic)).toEqual([{ partition: 0, offset: "3" }]);
        const retry = collect(log, { groupId, topics: [topic], fromBeginning: true });
        await receive(retry.records, 6);
        expect(retry.records.map((record) => record.offset)).toEqual(["3", "4", "5", "6", "7", "8"]);
      },
      testTimeoutMs,
    );

    it(
      "resumes a group from its committed offsets after the log is reopened",
      async () => {
        // Prepare
        const topic = uniqueName("reopen");
        const groupId = uniqueName("group");
        await handle.log.ensureTopics([{ topic, partitions: 2 }]);
        await handle.log.append(topic, recordsFor(8, "before"));
        const first = collect(handle.log, { groupId, topics: [topic], fromBeginning: true });
        await receive(first.records, 8);
        await waitUntil(
          () => committedMatchesHigh(handle.log, groupId, topic),
          "offsets committed",
          deliveryTimeoutMs,
        );
        await first.consumer.stop();
        const committedBefore = byPartition(await handle.log.committedOffsets(groupId, topic));

        // Act
        await handle.cleanup();
        handle = await makeLog();

        // Assess
        expect(byPartition(await handle.log.committedOffsets(groupId, topic))).toEqual(committedBefore);
        await handle.log.append(topic, recordsFor(4, "after"));
        const second = collect(handle.log, { groupId, topics: [topic], fromBeginning: true });
        await receive(second.records, 4);
        expect(second.records.map((record) => record.value?.toString()).sort()).toEqual(
          recordsFor(4, "after")
            .map((record) => record.value)
            .sort(),
        );
      },
      testTimeoutMs,
    );

    it(
      "gives each consumer group every record",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("groups");
        await log.ensureTopics([{ topic, partitions: 3 }]);
        await log.append(topic, recordsFor(12));

        // Act
        const silver = collect(log, { groupId: uniqueName("silver"), topics: [topic], fromBeginning: true });
        const bronze = collect(log, { groupId: uniqueName("bronze"), topics: [topic], fromBeginning: true });
        await receive(silver.records, 12);
        await receive(bronze.records, 12);

        // Assess
        const sentValues = recordsFor(12)
          .map((record) => record.value)
          .sort();
        expect(silver.records.map((record) => record.value?.toString()).sort()).toEqual(sentValues);
        expect(bronze.records.map((record) => record.value?.toString()).sort()).toEqual(sentValues);
        await silver.consumer.stop();
        await expect(silver.consumer.done).resolves.toBeUndefined();
      },
      testTimeoutMs,
    );

    it(
      "starts a group without committed offsets at the end when fromBeginning is false",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("latest");
        await log.ensureTopics([{ topic, partitions: 2 }]);
        await log.append(topic, recordsFor(5, "old"));
        const latest = collect(log, { groupId: uniqueName("group"), topics: [topic], fromBeginning: false });
        await latest.consumer.ready;

        // Act
        await log.append(topic, recordsFor(3, "new"));

        // Assess
        await receive(latest.records, 3);
        expect(latest.records.map((record) => record.value?.toString()).sort()).toEqual([
          "new-0",
          "new-1",
          "new-2",
        ]);
      },
      testTimeoutMs,
    );

    it(
      "reports low and high offsets per partition and the group's committed offsets",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("report");
        const groupId = uniqueName("group");
        await log.ensureTopics([{ topic, partitions: 3 }]);
        const empty = byPartition(await log.offsets(topic));
        const nothingCommitted = byPartition(await log.committedOffsets(groupId, topic));
        const input = recordsFor(9, "report", 9);

        // Act
        await log.append(topic, input);
        const { records } = collect(log, { groupId, topics: [topic], fromBeginning: true });
        await receive(records, input.length);
        await waitUntil(
          () => committedMatchesHigh(log, groupId, topic),
          "offsets committed",
          deliveryTimeoutMs,
        );

        // Assess
        expect(empty).toEqual([0, 1, 2].map((partition) => ({ partition, low: "0", high: "0" })));
        expect(nothingCommitted).toEqual([0, 1, 2].map((partition) => ({ partition, offset: null })));
        const expectedHigh = [0, 1, 2].map((partition) =>
          String(input.filter((record) => partitionForKey(record.key, 3) === partition).length),
        );
        const offsets = byPartition(await log.offsets(topic));
        expect(offsets).toEqual([0, 1, 2].map((p) => ({ partition: p, low: "0", high: expectedHigh[p] })));
        const committed = byPartition(await log.committedOffsets(groupId, topic));
        expect(committed.map((c) => c.offset ?? "0")).toEqual(expectedHigh);
      },
      testTimeoutMs,
    );

    it(
      "lands every record of many concurrent appends exactly once",
      async () => {
        // Prepare
        const { log } = handle;
        const topic = uniqueName("concurrent");
        await log.ensureTopics([{ topic, partitions: 3 }]);
        const calls = Array.from({ length: 50 }, (_, call) =>
          Array.from({ length: 10 }, (_, i) => ({
            key: `device-${(call * 10 + i) % 23}`,
            value: `${call}-${i}`,
          })),
        );

        // Act
        const results = await Promise.all(calls.map((input) => log.append(topic, input)));

        // Assess
        const all = results.flat();
        expect(new Set(all.map(coordinate)).size).toBe(500);
        const offsets = await log.offsets(topic);
        expect(offsets.reduce((sum, { high }) => sum + BigInt(high), 0n)).toBe(500n);
        for (const { partition } of offsets) {
          expectConsecutive(
            all
              .filter((c) => c.partition === partition)
              .sort(byOffset)
              .map((c) => c.offset),
            0n,
          );
        }
        const { records } = collect(log, {
          groupId: uniqueName("group"),
          topics: [topic],
          fromBeginning: true,
        });
        await receive(records, 500);
        const valueAt = new Map(records.map((record) => [coordinate(record), record.value?.toString()]));
        results.forEach((coordinates, call) => {
          coordinates.forEach((c, i) => {
            expect(valueAt.get(coordinate(c))).toBe(`${call}-${i}`);
          });
        });
      },
      testTimeoutMs,
    );

    it("reports itself healthy while open", async () => {
      // Act
      const health = await handle.log.health();

      // Assess
      expect(health).toMatchObject({ ok: true, backend: handle.log.backend });
    });
  });
}
