import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventLogError } from "#shared/errors.ts";
import {
  openSqliteEventLog,
  type SqliteEventLog,
  type SqliteEventLogOptions,
} from "#shared/event-log/sqlite/index.ts";
import type { ConsumedRecord, ConsumerOptions, EventLog, LogConsumer } from "#shared/event-log/types.ts";
import { waitUntil } from "#test/helpers/wait.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../..");

describe("SqliteEventLog", () => {
  let dataDir: string;
  let file: string;
  let opened: SqliteEventLog[];
  let consumers: LogConsumer[];

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "packetpulse-sqlite-log-"));
    file = path.join(dataDir, "events.db");
    opened = [];
    consumers = [];
  });

  afterEach(async () => {
    await Promise.allSettled(consumers.map((consumer) => consumer.stop()));
    await Promise.allSettled(opened.map((log) => log.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function open(options: Partial<SqliteEventLogOptions> = {}) {
    const log = await openSqliteEventLog({ file, retentionHours: 168, ...options });
    opened.push(log);
    return log;
  }

  function collect(log: EventLog, options: Omit<ConsumerOptions, "eachBatch">) {
    const records: ConsumedRecord[] = [];
    const consumer = log.consume({
      ...options,
      eachBatch: async (batch) => {
        records.push(...batch.records);
      },
    });
    consumers.push(consumer);
    return { consumer, records };
  }

  const values = (records: ConsumedRecord[]) => records.map((record) => record.value?.toString("utf8"));

  it("deletes records older than the retention, advances low, and resumes a group overtaken by it at low", async () => {
    // Prepare
    let now = Date.parse("2030-01-01T00:00:00Z");
    const log = await open({ retentionHours: 1, clock: () => now });
    await log.ensureTopics([{ topic: "sessions", partitions: 1 }]);
    await log.append(
      "sessions",
      Array.from({ length: 10 }, (_, i) => ({ key: "device-1", value: `old-${i}` })),
    );
    let calls = 0;
    const partial = log.consume({
      groupId: "silver",
      topics: ["sessions"],
      fromBeginning: true,
      maxBatchSize: 3,
      eachBatch: async () => {
        calls++;
        void partial.stop();
      },
    });
    await partial.done;
    now += 2 * 3_600_000;
    // Retention follows the append time: an event replayed with a 2001 timestamp is not expired on arrival.
    await log.append("sessions", [
      { key: "device-1", value: "replayed", timestamp: Date.parse("2001-01-01T00:00:00Z") },
      ...Array.from({ length: 4 }, (_, i) => ({ key: "device-1", value: `new-${i}` })),
    ]);

    // Act
    const deleted = await log.sweepRetention();

    // Assess
    expect(calls).toBe(1);
    expect(deleted).toBe(10);
    expect(await log.offsets("sessions")).toEqual([{ partition: 0, low: "10", high: "15" }]);
    expect(await log.committedOffsets("silver", "sessions")).toEqual([{ partition: 0, offset: "3" }]);
    const resumed = collect(log, { groupId: "silver", topics: ["sessions"], fromBeginning: true });
    await waitUntil(() => resumed.records.length >= 5, "the retained records", 5_000);
    // A later record on the one partition: once it is in, nothing older is still to come.
    await log.append("sessions", [{ key: "device-1", value: "marker" }]);
    await waitUntil(() => values(resumed.records).includes("marker"), "the marker record", 5_000);
    expect(resumed.records.map((record) => record.offset)).toEqual(["10", "11", "12", "13", "14", "15"]);
    expect(values(resumed.records)).toEqual(["replayed", "new-0", "new-1", "new-2", "new-3", "marker"]);
  });

  it("sweeps expired records on its own every retentionCheckIntervalMs", async () => {
    // Prepare
    let now = Date.parse("2030-01-01T00:00:00Z");
    const log = await open({ retentionHours: 1, retentionCheckIntervalMs: 50, clock: () => now });
    await log.append("sessions", [{ key: "device-1", value: "old" }]);

    // Act
    now += 3_600_001;

    // Assess
    let low = "0";
    await waitUntil(
      () => {
        void log.offsets("sessions").then(([partition]) => {
          low = partition!.low;
        });
        return low === "1";
      },
      "the periodic sweep to advance low",
      5_000,
    );
    expect(await log.offsets("sessions")).toEqual([{ partition: 0, low: "1", high: "1" }]);
  });

  it("continues offsets after it is reopened, with earlier records still readable", async () => {
    // Prepare
    const first = await open();
    await first.ensureTopics([{ topic: "sessions", partitions: 2 }]);
    const before = await first.append(
      "sessions",
      Array.from({ length: 6 }, (_, i) => ({ key: `device-${i}`, value: `before-${i}` })),
    );
    const offsetsBefore = await first.offsets("sessions");
    await first.close();

    // Act
    const reopened = await open();
    const after = await reopened.append(
      "sessions",
      Array.from({ length: 6 }, (_, i) => ({ key: `device-${i}`, value: `after-${i}` })),
    );

    // Assess
    expect(await reopened.partitionCount("sessions")).toBe(2);
    for (const { partition, high } of offsetsBefore) {
      const offsets = after.filter((c) => c.partition === partition).map((c) => Number(c.offset));
      expect(offsets).toEqual(offsets.map((_, i) => Number(high) + i));
    }
    const { records } = collect(reopened, { groupId: "reader", topics: ["sessions"], fromBeginning: true });
    await waitUntil(() => records.length >= 12, "12 records", 5_000);
    expect(values(records).sort()).toEqual(
      [...before, ...after].map((_, i) => (i < 6 ? `before-${i}` : `after-${i - 6}`)).sort(),
    );
  });

  it("loses no acknowledged append when the writing process is killed with SIGKILL", async () => {
    // Prepare: a writer process that prints each record's coordinates once append() has acknowledged it.
    const writerScript = path.join(dataDir, "writer.mts");
    const logModule = pathToFileURL(path.join(repoRoot, "shared/event-log/sqlite/index.ts")).href;
    writeFileSync(
      writerScript,
      `import { openSqliteEventLog } from ${JSON.stringify(logModule)};
const log = await openSqliteEventLog({ file: process.argv[2], retentionHours: 168 });
await log.ensureTopics([{ topic: "sessions", partitions: 3 }]);
const member = log.consume({ groupId: "killed-group", topics: ["sessions"], fromBeginning: true, eachBatch: async () => {} });
await member.ready;
process.stdout.write("READY\\n");
let sequence = 0;
async function writer() {
  for (;;) {
    const records = Array.from({ length: 20 }, () => {
      const n = sequence++;
      return { key: "device-" + (n % 50), value: "event-" + n, headers: { n: String(n) } };
    });
    const appended = await log.append("sessions", records);
    // stdout to a pipe is synchronous on Linux: a line the parent reads was acknowledged before it was written.
    process.stdout.write(appended.map((c, i) => "ACK " + c.partition + " " + c.offset + " " + records[i].value + "\\n").join(""));
  }
}
for (let i = 0; i < 8; i++) void writer();
`,
    );
    // node --import tsx runs the script in this very process, so the SIGKILL reaches the writer itself.
    const child = spawn(process.execPath, ["--import", "tsx", writerScript, file], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_, signal) => resolve(signal)),
    );
    const acknowledged = new Map<string, string>();
    let ready = false;
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line === "READY") ready = true;
      const [tag, partition, offset, value] = line.split(" ");
      if (tag === "ACK") acknowledged.set(`${partition}:${offset}`, value!);
    });

    // Act: kill it mid-stream, with appends in flight.
    await waitUntil(
      () => acknowledged.size >= 5_000 || child.exitCode !== null,
      "5000 acknowledgements",
      30_000,
    );
    child.kill("SIGKILL");
    const signal = await exited;

    // Assess
    expect(stderr).toBe("");
    expect(ready).toBe(true);
    expect(signal).toBe("SIGKILL");
    // The lease of the killed member must not need its 60 s session timeout: its process is gone.
    const log = await open({ sessionTimeoutMs: 60_000 });
    const offsets = await log.offsets("sessions");
    const stored = offsets.reduce((sum, { high }) => sum + Number(high), 0);
    expect(stored).toBeGreaterThanOrEqual(acknowledged.size);
    const { records } = collect(log, { groupId: "auditor", topics: ["sessions"], fromBeginning: true });
    await waitUntil(() => records.length >= stored, `${stored} records`, 20_000);
    const storedValues = new Map(records.map((record) => [`${record.partition}:${record.offset}`, record]));
    const missing = [...acknowledged].filter(
      ([at, value]) => storedValues.get(at)?.value?.toString() !== value,
    );
    expect(missing).toEqual([]);
    for (const { partition, high } of offsets) {
      const inPartition = records
        .filter((record) => record.partition === partition)
        .map((r) => Number(r.offset));
      expect(inPartition).toEqual(Array.from({ length: Number(high) }, (_, i) => i));
    }
    const successor = collect(log, { groupId: "killed-group", topics: ["sessions"], fromBeginning: true });
    await successor.consumer.ready;
    await log.append("sessions", [{ key: "device-1", value: "after-restart" }]);
    await waitUntil(
      () => values(successor.records).includes("after-restart"),
      "the killed member's partitions to be taken over",
      5_000,
    );
  }, 60_000);

  it("keeps a second member of a group on standby until the first stops, then hands over without repeats", async () => {
    // Prepare
    const log = await open();
    await log.ensureTopics([{ topic: "sessions", partitions: 2 }]);
    const send = (prefix: string, count: number) =>
      log.append(
        "sessions",
        Array.from({ length: count }, (_, i) => ({ key: `device-${i}`, value: `${prefix}-${i}` })),
      );
    await send("first", 6);
    const active = collect(log, { groupId: "jupiter", topics: ["sessions"], fromBeginning: true });
    await waitUntil(() => active.records.length >= 6, "6 records for the first member", 5_000);
    const standby = collect(log, { groupId: "jupiter", topics: ["sessions"], fromBeginning: true });
    await standby.consumer.ready;
    await send("second", 4);
    await waitUntil(() => active.records.length >= 10, "4 more records for the first member", 5_000);

    // Act
    await active.consumer.stop();
    await send("third", 4);

    // Assess
    await waitUntil(() => standby.records.length >= 4, "the standby member to take over", 5_000);
    // Markers on the same keys (so the same partitions) after them: once they are in, nothing older is to come.
    await send("marker", 4);
    await waitUntil(
      () => values(standby.records).filter((value) => value?.startsWith("marker")).length === 4,
      "the marker records",
      5_000,
    );
    expect(values(active.records).filter((value) => value?.startsWith("third"))).toEqual([]);
    expect(
      values(standby.records)
        .filter((value) => !value?.startsWith("marker"))
        .sort(),
    ).toEqual(["third-0", "third-1", "third-2", "third-3"]);
  });

  it("delivers appends made through another connection to the same file (as from another process)", async () => {
    // Prepare
    const writer = await open();
    const reader = await open({ pollIntervalMs: 100 });
    await writer.ensureTopics([{ topic: "sessions", partitions: 3 }]);
    const { consumer, records } = collect(reader, {
      groupId: "neptune",
      topics: ["sessions"],
      fromBeginning: true,
    });
    await consumer.ready;

    // Act
    await writer.append(
      "sessions",
      Array.from({ length: 5 }, (_, i) => ({ key: `device-${i}`, value: `ping-${i}` })),
    );

    // Assess
    await waitUntil(() => records.length >= 5, "records from the other connection", 3_000);
    expect(values(records).sort()).toEqual(["ping-0", "ping-1", "ping-2", "ping-3", "ping-4"]);
  });

  it("creates a missing topic with partitionsDefault partitions on first append", async () => {
    // Prepare
    const log = await open({ partitionsDefault: 4 });

    // Act
    const appended = await log.append("sessions-dlq", [{ key: "device-1", value: "bad frame" }]);

    // Assess
    expect(appended).toEqual([{ topic: "sessions-dlq", partition: expect.any(Number), offset: "0" }]);
    expect(await log.partitionCount("sessions-dlq")).toBe(4);
    await expect(log.partitionCount("never-created")).rejects.toThrow(EventLogError);
  });

  it("writes appends accepted before close(), then refuses new work", async () => {
    // Prepare
    const log = await open();
    const accepted = log.append("sessions", [{ key: "device-1", value: "last words" }]);

    // Act
    await log.close();

    // Assess
    await expect(accepted).resolves.toEqual([{ topic: "sessions", partition: 0, offset: "0" }]);
    await expect(log.append("sessions", [{ key: "device-1", value: "too late" }])).rejects.toThrow(
      EventLogError,
    );
    expect(await log.health()).toMatchObject({ ok: false, backend: "embedded" });
    const reopened = await open();
    expect(await reopened.offsets("sessions")).toEqual([{ partition: 0, low: "0", high: "1" }]);
  });

  it("rejects an invalid topic name with an EventLogError", async () => {
    // Prepare
    const log = await open();

    // Act
    const appended = log.append("sessions/../etc", [{ key: "device-1", value: "x" }]);

    // Assess
    await expect(appended).rejects.toThrow(EventLogError);
    await expect(log.ensureTopics([{ topic: "", partitions: 1 }])).rejects.toThrow(EventLogError);
  });

  it("reports healthy with the file it uses", async () => {
    // Prepare
    const log = await open();

    // Act
    const health = await log.health();

    // Assess
    expect(health).toMatchObject({ ok: true, backend: "embedded" });
    expect(health.detail).toContain(file);
  });
});
