import { threadId } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { SessionsRecord } from "#shared/lambda/index.ts";
import { PackedFields, packRecords, ThreadPool, unpackRecords } from "#shared/threads/index.ts";

const TASKS = new URL("../../../fixtures/threads/tasks.ts", import.meta.url).href;

/** The fixture task that reports which thread read a chunk of `records`, and their values. */
const describeChunks = (records: readonly SessionsRecord[]) => ({
  module: TASKS,
  task: "describeChunk",
  input: (start: number, end: number) => {
    const { packed, transfer } = packRecords(records.slice(start, end));
    return { input: packed, transfer };
  },
});

const record = (i: number, overrides: Partial<SessionsRecord> = {}): SessionsRecord => ({
  topic: i % 3 === 0 ? "sessions" : "sessions.dlq",
  partition: i % 4,
  offset: 2 ** 40 + i,
  timestamp: 1_714_557_075_250 + i,
  key: i % 5 === 0 ? null : Buffer.from(`device-${i}`),
  value: Buffer.from(JSON.stringify({ i, text: "ünïcödé ✓" })),
  headers:
    i % 2 === 0
      ? { event_id: Buffer.from(`id-${i}`), schema_version: Buffer.from("2") }
      : { schema_version: Buffer.from("1") },
  ...overrides,
});

describe("packed records", () => {
  it("come back byte for byte: null keys, empty values, headers some records lack", () => {
    // Prepare
    const records = [
      ...Array.from({ length: 50 }, (_, i) => record(i)),
      record(50, { value: Buffer.alloc(0), key: Buffer.alloc(0), headers: {} }),
    ];

    // Act
    const { packed, transfer } = packRecords(records);
    const clone = structuredClone(packed, { transfer });
    const back = unpackRecords(clone);

    // Assess
    expect(back).toEqual(records);
    expect(back[50]!.key).toEqual(Buffer.alloc(0));
    expect(back[5]!.key).toBeNull();
    expect(back[1]!.headers).toEqual({ schema_version: Buffer.from("1") });
    expect(Buffer.isBuffer(back[7]!.value)).toBe(true);
    // Moved, not copied: the sender's buffers are detached.
    expect(packed.values.bytes.byteLength).toBe(0);
  });

  it("read field by field in place give each record's value text, value size, headers and timestamp", () => {
    // Prepare
    const records = [
      ...Array.from({ length: 20 }, (_, i) => record(i)),
      record(20, { value: Buffer.alloc(0), headers: {} }),
    ];

    // Act
    const fields = new PackedFields(structuredClone(packRecords(records).packed));

    // Assess
    expect(fields.count).toBe(21);
    for (let i = 0; i < records.length; i++) {
      const original = records[i]!;
      expect(fields.valueText(i)).toBe(original.value.toString("utf8"));
      expect(fields.valueLength(i)).toBe(original.value.length);
      expect(fields.timestamp(i)).toBe(original.timestamp);
      expect(fields.headerText(i, "event_id")).toBe(original.headers.event_id?.toString("utf8"));
      expect(fields.headerText(i, "schema_version")).toBe(original.headers.schema_version?.toString("utf8"));
      expect(fields.headerText(i, "absent")).toBeUndefined();
    }
  });
});

describe("ThreadPool", () => {
  it("runs the first chunk here and the others on workers, results in chunk order", async () => {
    // Prepare
    const records = Array.from({ length: 9 }, (_, i) => record(i));
    const pool = new ThreadPool("test", 3);
    await pool.preload(TASKS);

    // Act
    const chunks = await pool.map(
      records.length,
      3,
      (start, end) => ({ threadId, values: records.slice(start, end).map((r) => r.value.toString()) }),
      describeChunks(records),
    );
    await pool.close();

    // Assess
    expect(chunks.map((c) => c.start)).toEqual([0, 3, 6]);
    expect(chunks.flatMap((c) => c.value.values)).toEqual(records.map((r) => r.value.toString()));
    expect(chunks[0]!.value.threadId).toBe(threadId);
    const workers = new Set(chunks.slice(1).map((c) => c.value.threadId));
    expect(workers.size).toBe(2);
    expect(workers.has(threadId)).toBe(false);
  });

  it("keeps small batches on this thread", async () => {
    // Prepare
    const pool = new ThreadPool("test", 2);

    // Act
    const chunks = await pool.map(10, 2000, () => threadId, {
      module: TASKS,
      task: "describeChunk",
      input: () => {
        throw new Error("must not be sent");
      },
    });
    await pool.close();

    // Assess
    expect(chunks).toEqual([{ start: 0, value: threadId }]);
  });

  it("fails the batch a crashed worker held, then works on without it", async () => {
    // Prepare
    const pool = new ThreadPool("test", 2);
    const run = (task: string) =>
      pool.map(4000, 2000, () => "here", {
        module: TASKS,
        task,
        input: (start, end) => {
          const { packed, transfer } = packRecords(Array.from({ length: end - start }, (_, i) => record(i)));
          return { input: packed, transfer };
        },
      });

    // Act
    const crashed = await run("crash").catch((error: Error) => error);
    const after = await run("crash");
    await pool.close();

    // Assess
    expect(crashed).toBeInstanceOf(Error);
    expect(String(crashed)).toMatch(/test thread exited with code 3/);
    expect(pool.threads).toBe(1);
    expect(after).toEqual([{ start: 0, value: "here" }]);
  });

  it("reports a task's error with the pool's name", async () => {
    // Prepare
    const pool = new ThreadPool("test", 2);

    // Act
    const error = await pool
      .map(4000, 2000, () => "here", {
        module: TASKS,
        task: "noSuchTask",
        input: () => ({ input: null }),
      })
      .catch((e: Error) => e);
    await pool.close();

    // Assess
    expect(String(error)).toMatch(/test thread: .*tasks\.ts has no task noSuchTask/);
  });
});

describe("ThreadPool with offload", () => {
  it("leaves this thread out while a worker is alive", async () => {
    // Prepare
    const records = Array.from({ length: 4 }, (_, i) => record(i));
    const pool = new ThreadPool("test", 2, { offload: true });

    // Act
    const chunks = await pool.map(
      records.length,
      1,
      () => ({ threadId, values: [] as string[] }),
      describeChunks(records),
    );
    await pool.close();

    // Assess
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.value.threadId).not.toBe(threadId);
    expect(chunks[0]!.value.values).toEqual(records.map((r) => r.value.toString()));
  });
});
