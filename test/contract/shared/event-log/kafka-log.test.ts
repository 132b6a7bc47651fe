import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EventLogError } from "#shared/errors.ts";
import { classifyKafkaError } from "#shared/event-log/kafka/errors.ts";
import { GroupCommitter, type GroupItem } from "#shared/event-log/kafka/group-commit.ts";
import { type KafkaEventLogOptions, openKafkaEventLog } from "#shared/event-log/kafka/index.ts";
import type { ConsumedRecord, EventLog } from "#shared/event-log/types.ts";
import { kafkaBrokers, killKafkaBroker, restartKafkaBroker, startKafkaBroker } from "#test/helpers/kafka.ts";
import { waitUntil } from "#test/helpers/wait.ts";
import { describeEventLogContract } from "./event-log.contract.ts";

const brokers = kafkaBrokers();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const uniqueName = (prefix: string) => `kafka-${prefix}-${randomUUID().slice(0, 8)}`;

function openLog(options?: KafkaEventLogOptions, brokerList = brokers ?? []) {
  return openKafkaEventLog(
    { brokers: brokerList, clientId: "packetpulse-test", ssl: false, replicationFactor: 1 },
    { logLevel: "nothing", ...options },
  );
}

/** A local port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Reads a whole topic through a fresh consumer group. */
async function readAll(log: EventLog, topic: string): Promise<ConsumedRecord[]> {
  const total = (await log.offsets(topic)).reduce(
    (sum, { high, low }) => sum + Number(BigInt(high) - BigInt(low)),
    0,
  );
  const records: ConsumedRecord[] = [];
  const consumer = log.consume({
    groupId: uniqueName("reader"),
    topics: [topic],
    fromBeginning: true,
    eachBatch: async (batch) => {
      records.push(...batch.records);
    },
  });
  try {
    await waitUntil(() => records.length >= total, `${total} records of ${topic}`, 60_000);
  } finally {
    await consumer.stop();
  }
  return records;
}

describe("Kafka event log building blocks (no broker needed)", () => {
  /** A fake send that numbers records per topic and remembers each group. */
  function fakeSend(fail?: (items: GroupItem[]) => boolean) {
    const groups: GroupItem[][] = [];
    let next = 0;
    const send = async (items: GroupItem[]) => {
      groups.push(items);
      await sleep(5);
      if (fail?.(items)) throw new EventLogError("group failed on purpose");
      return items.map((item) => ({ topic: item.topic, partition: 0, offset: String(next++) }));
    };
    return { send, groups };
  }

  it("sends appends made while a group is in flight together, and answers each call in input order", async () => {
    // Prepare
    const { send, groups } = fakeSend();
    const committer = new GroupCommitter(send, { maxRecords: 1_000, maxBytes: 1_000_000 });

    // Act
    const first = committer.append("t", [{ key: "a", value: "0" }]);
    await waitUntil(() => groups.length === 1, "the first group in flight", 5_000, { pollMs: 1 });
    const rest = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        committer.append("t", [
          { key: "k", value: `${i}-x` },
          { key: "k", value: `${i}-y` },
        ]),
      ),
    );

    // Assess
    expect((await first).map((c) => c.offset)).toEqual(["0"]);
    expect(groups.map((g) => g.length)).toEqual([1, 40]);
    rest.forEach((coordinates, i) => {
      expect(coordinates.map((c) => c.offset)).toEqual([String(1 + 2 * i), String(2 + 2 * i)]);
    });
    expect(committer.stats()).toMatchObject({ groups: 2, records: 41, largestGroup: 40 });
  });

  it("splits a call larger than a group and resolves it once every part is acknowledged", async () => {
    // Prepare
    const { send, groups } = fakeSend();
    const committer = new GroupCommitter(send, { maxRecords: 4, maxBytes: 1_000_000 });

    // Act
    const coordinates = await committer.append(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ key: "k", value: String(i) })),
    );

    // Assess
    expect(groups.map((g) => g.length)).toEqual([4, 4, 2]);
    expect(coordinates.map((c) => c.offset)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  it("rejects only the calls of a failed group", async () => {
    // Prepare
    const { send } = fakeSend((items) => items.some((item) => item.record.value === "bad"));
    const committer = new GroupCommitter(send, { maxRecords: 1_000, maxBytes: 1_000_000 });

    // Act
    const bad = committer.append("t", [{ key: "k", value: "bad" }]);
    const good = bad.catch(() => undefined).then(() => committer.append("t", [{ key: "k", value: "good" }]));

    // Assess
    await expect(bad).rejects.toThrow("group failed on purpose");
    await expect(good).resolves.toHaveLength(1);
    await committer.idle();
  });

  it("gives up on a broker that accepts connections but never answers, within the append timeout", async () => {
    // Prepare
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const log = await openLog({ appendTimeoutMs: 1_500, healthTimeoutMs: 1_000 }, [`127.0.0.1:${port}`]);
    const started = Date.now();

    try {
      // Act
      const append = log.append("sessions", [{ key: "k", value: "v" }]);
      const health = await log.health();

      // Assess
      await expect(append).rejects.toThrow(EventLogError);
      await expect(append).rejects.toThrow(`127.0.0.1:${port}`);
      expect(Date.now() - started).toBeLessThan(6_000);
      expect(health.ok).toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await log.close();
    }
  });

  it("retries transient kafkajs errors, renews the producer on sequence errors, and fails fast otherwise", () => {
    const kafkaError = (name: string, fields: Record<string, unknown> = {}) =>
      Object.assign(new Error(name), { name, ...fields });
    const refused = kafkaError("KafkaJSConnectionError", { retriable: true });
    expect(
      classifyKafkaError(kafkaError("KafkaJSNumberOfRetriesExceeded", { retriable: false, cause: refused })),
    ).toBe("retry");
    expect(
      classifyKafkaError(
        kafkaError("KafkaJSProtocolError", { type: "NOT_LEADER_FOR_PARTITION", retriable: true }),
      ),
    ).toBe("retry");
    expect(
      classifyKafkaError(
        kafkaError("KafkaJSProtocolError", { type: "OUT_OF_ORDER_SEQUENCE_NUMBER", retriable: false }),
      ),
    ).toBe("reset-producer");
    expect(
      classifyKafkaError(kafkaError("KafkaJSProtocolError", { type: "MESSAGE_TOO_LARGE", retriable: false })),
    ).toBe("fatal");
    expect(classifyKafkaError(new TypeError("bug"))).toBe("fatal");
  });
});

describe.skipIf(!brokers)("Kafka event log", () => {
  describeEventLogContract(
    "Kafka",
    async () => {
      const log = await openLog();
      return { log, cleanup: () => log.close() };
    },
    { deliveryTimeoutMs: 20_000 },
  );

  describe("Kafka only", () => {
    const opened: EventLog[] = [];
    const track = async (log: Promise<EventLog>) => {
      const instance = await log;
      opened.push(instance);
      return instance;
    };

    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((log) => log.close()));
    });

    it("sends concurrent appends as a few group commits", async () => {
      // Prepare
      const log = await openLog();
      opened.push(log);
      const topic = uniqueName("group-commit");
      await log.ensureTopics([{ topic, partitions: 3 }]);
      const before = log.appendStats().groups;

      // Act
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => log.append(topic, [{ key: `device-${i}`, value: `v${i}` }])),
      );

      // Assess
      const groups = log.appendStats().groups - before;
      expect(groups).toBeGreaterThanOrEqual(1);
      expect(groups).toBeLessThanOrEqual(5);
      expect(new Set(results.flat().map((c) => `${c.partition}:${c.offset}`)).size).toBe(50);
    });

    it("splits an append larger than one produce request and keeps every record", async () => {
      // Prepare
      const log = await openLog();
      opened.push(log);
      const topic = uniqueName("large");
      await log.ensureTopics([{ topic, partitions: 3 }]);
      const input = Array.from({ length: 20_000 }, (_, i) => ({
        key: `device-${i % 101}`,
        value: `${i}`.padEnd(150, "x"),
      }));

      // Act
      const appended = await log.append(topic, input);

      // Assess
      expect(appended).toHaveLength(input.length);
      expect(log.appendStats().largestGroup).toBeLessThan(input.length);
      const highs = await log.offsets(topic);
      expect(highs.reduce((sum, { high }) => sum + Number(high), 0)).toBe(input.length);
      const seen = new Set(appended.map((c) => `${c.partition}:${c.offset}`));
      expect(seen.size).toBe(input.length);
    });

    it("rejects an append to a missing topic at once", async () => {
      // Prepare
      const log = await track(openLog());
      const started = Date.now();

      // Act
      const result = log.append(uniqueName("missing"), [{ key: "k", value: "v" }]);

      // Assess
      await expect(result).rejects.toThrow(EventLogError);
      await expect(result).rejects.toThrow(/does not exist/);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("rejects appends with an EventLogError naming the brokers when none answers in time", async () => {
      // Prepare
      const port = await deadPort();
      const log = await track(openLog({ appendTimeoutMs: 1_500 }, [`127.0.0.1:${port}`]));
      const started = Date.now();

      // Act
      const result = log.append("sessions", [{ key: "k", value: "v" }]);

      // Assess
      await expect(result).rejects.toThrow(EventLogError);
      await expect(result).rejects.toThrow(`127.0.0.1:${port}`);
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it("reports an unreachable cluster as unhealthy instead of throwing", async () => {
      // Prepare
      const port = await deadPort();
      const log = await track(openLog({ healthTimeoutMs: 1_000 }, [`127.0.0.1:${port}`]));

      // Act
      const health = await log.health();

      // Assess
      expect(health.ok).toBe(false);
      expect(health.backend).toBe("kafka");
      expect(health.detail).toContain(`127.0.0.1:${port}`);
    });

    /**
     * Appends in a loop from several writers, injects `fault` (the broker goes away and comes back), keeps
     * appending, then reads the topic back: every acknowledged record is at its coordinates, none twice.
     */
    async function appendThrough(fault: () => Promise<void>) {
      const log = await openLog({ appendTimeoutMs: 90_000 });
      opened.push(log);
      const topic = uniqueName("fault");
      await log.ensureTopics([{ topic, partitions: 3 }]);
      const acknowledged = new Map<string, string>();
      const failures: unknown[] = [];
      let stopping = false;
      let faultOver = false;
      let acknowledgedAfterFault = 0;

      const writer = async (w: number) => {
        for (let seq = 0; !stopping; seq++) {
          const batch = Array.from({ length: 20 }, (_, i) => ({
            key: `device-${(w * 7 + i) % 11}`,
            value: `w${w}-${seq}-${i}`,
          }));
          const startedAfterFault = faultOver;
          try {
            const coordinates = await log.append(topic, batch);
            coordinates.forEach((c, i) => {
              acknowledged.set(`${c.partition}:${c.offset}`, batch[i]!.value);
            });
            if (startedAfterFault) acknowledgedAfterFault += batch.length;
          } catch (error) {
            failures.push(error);
            await sleep(200);
          }
        }
      };
      const writers = Array.from({ length: 4 }, (_, w) => writer(w));
      try {
        await waitUntil(() => acknowledged.size >= 400, "appends before the fault", 30_000);
        await fault();
        faultOver = true;
        await waitUntil(() => acknowledgedAfterFault >= 400, "appends after the fault", 60_000);
      } finally {
        stopping = true;
        await Promise.all(writers);
      }

      const records = await readAll(log, topic);
      const stored = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r.value?.toString("utf8")]));
      const missing = [...acknowledged].filter(([coordinate, value]) => stored.get(coordinate) !== value);
      expect(missing).toEqual([]);
      const values = records.map((r) => r.value?.toString("utf8"));
      expect(new Set(values).size).toBe(values.length);
      expect(failures).toEqual([]);
      return { acknowledged: acknowledged.size, stored: records.length };
    }

    describe("broker faults", () => {
      // Whatever happens in a fault test, leave the broker running for the tests and suites after it.
      afterEach(async () => {
        await startKafkaBroker();
      }, 180_000);

      it("keeps every acknowledged record when the broker restarts during appends", async () => {
        const { acknowledged, stored } = await appendThrough(() => restartKafkaBroker());
        expect(stored).toBeGreaterThanOrEqual(acknowledged);
      }, 180_000);

      it("keeps every acknowledged record when the broker is killed and started again", async () => {
        const { acknowledged, stored } = await appendThrough(async () => {
          await killKafkaBroker();
          await sleep(1_000);
          await startKafkaBroker();
        });
        expect(stored).toBeGreaterThanOrEqual(acknowledged);
      }, 180_000);
    });
  });
});
