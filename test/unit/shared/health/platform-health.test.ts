import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventLogError } from "#shared/errors.ts";
import { openSqliteEventLog } from "#shared/event-log/sqlite/index.ts";
import {
  eventLogCheck,
  type HealthChange,
  type HealthCheckResult,
  HealthModel,
  healthResponse,
} from "#shared/health/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import {
  DataFolderLockedError,
  dataFolderLockHolder,
  LOCK_FILE,
  lockDataFolder,
} from "#shared/platform/data-folder-lock.ts";
import { consumerHealth } from "#shared/runtime/index.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "packetpulse-health-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A check whose answer the test sets. */
function settable(component: string, initial: HealthCheckResult) {
  let current: HealthCheckResult | Error = initial;
  return {
    set(next: HealthCheckResult | Error) {
      current = next;
    },
    check: {
      component,
      async check() {
        if (current instanceof Error) throw current;
        return current;
      },
    },
  };
}

describe("the health model", () => {
  it("reports the worst component, since when each has been in its state, and every change", async () => {
    // Prepare
    let now = Date.parse("2026-12-01T10:00:00Z");
    const log = settable("event-log", { status: "ok", reason: "reachable" });
    const consumer = settable("consumer:jupiter", { status: "ok", reason: "consuming" });
    const model = new HealthModel([log.check, consumer.check], { clock: () => now });
    const changes: HealthChange[] = [];
    model.onChange((change) => changes.push(change));

    // Act
    const first = await model.check();
    now += 5_000;
    consumer.set({ status: "failing", reason: "retrying", detail: "connect ECONNREFUSED 127.0.0.1:9" });
    const second = await model.check();
    now += 5_000;
    const third = await model.check();
    now += 5_000;
    consumer.set({ status: "ok", reason: "consuming" });
    const fourth = await model.check();

    // Assess
    expect([first.status, second.status, third.status, fourth.status]).toEqual([
      "ok",
      "failing",
      "failing",
      "ok",
    ]);
    expect(third.components.find((c) => c.component === "consumer:jupiter")).toMatchObject({
      status: "failing",
      since: "2026-12-01T10:00:05.000Z",
    });
    expect(fourth.components.find((c) => c.component === "event-log")!.since).toBe(
      "2026-12-01T10:00:00.000Z",
    );
    expect(changes.map((c) => `${c.component.component} ${c.previous} → ${c.component.status}`)).toEqual([
      "event-log undefined → ok",
      "consumer:jupiter undefined → ok",
      "consumer:jupiter ok → failing",
      "consumer:jupiter failing → ok",
    ]);
  });

  it("counts a check that throws or does not answer in time as failing", async () => {
    // Prepare
    const broken = settable("clickhouse", { status: "ok", reason: "answers" });
    broken.set(new Error("socket hang up"));
    const stuck = { component: "uranus", check: () => new Promise<HealthCheckResult>(() => {}) };
    const model = new HealthModel([broken.check, stuck], { checkTimeoutMs: 50 });

    // Act
    const health = await model.check();

    // Assess
    expect(health.status).toBe("failing");
    expect(health.components.map((c) => [c.component, c.status])).toEqual([
      ["clickhouse", "failing"],
      ["uranus", "failing"],
    ]);
    expect(health.components[0]!.detail).toBe("socket hang up");
  });

  it("answers 503 while a component fails, and shows details only to a caller with the API key", async () => {
    // Prepare
    const consumer = settable("consumer:neptune", {
      status: "failing",
      reason: "cannot prepare its topics; retrying",
      detail: "Kafka 10.0.0.7:9092: cluster abc123 unreachable; /srv/packetpulse/event-log.sqlite",
    });
    const model = new HealthModel([consumer.check]);

    // Act
    const anonymous = await healthResponse(model, false);
    const operator = await healthResponse(model, true);
    consumer.set({ status: "degraded", reason: "the last append failed" });
    const degraded = await healthResponse(model, false);

    // Assess
    expect(anonymous.statusCode).toBe(503);
    expect(anonymous.body).not.toMatch(/10\.0\.0\.7|abc123|\/srv\//);
    expect(JSON.parse(anonymous.body)).toMatchObject({
      status: "failing",
      components: [{ component: "consumer:neptune", reason: "cannot prepare its topics; retrying" }],
    });
    expect(operator.statusCode).toBe(503);
    expect(operator.body).toContain("10.0.0.7:9092");
    expect(degraded.statusCode).toBe(200);
    expect(JSON.parse(degraded.body)).toMatchObject({ status: "degraded" });
  });

  it("reads a consumer's state: running is ok, retrying is failing with the reason kept for operators", () => {
    // Act
    const running = consumerHealth({ state: "running", since: "t", attempts: 0, lastCommitAt: "c" }, 12);
    const retrying = consumerHealth(
      { state: "retrying", since: "t", attempts: 3, lastError: "cannot prepare sessions: ECONNREFUSED" },
      null,
    );

    // Assess
    expect(running).toMatchObject({ status: "ok", facts: { lag: 12, lastCommitAt: "c" } });
    expect(retrying).toMatchObject({
      status: "failing",
      reason: "cannot prepare its topics; retrying with backoff (attempt 3)",
      detail: "cannot prepare sessions: ECONNREFUSED",
    });
  });
});

describe("lazyStart", () => {
  it("tries again after a failed start and keeps a successful one", async () => {
    // Prepare
    let attempts = 0;
    const open = lazyStart(async () => {
      attempts++;
      if (attempts === 1) throw new Error("broker unreachable");
      return { opened: attempts };
    });

    // Act
    const first = open().catch((error: Error) => error.message);
    const shared = open().catch((error: Error) => error.message);
    const firstResult = await first;
    const second = await open();
    const third = await open();

    // Assess
    expect(firstResult).toBe("broker unreachable");
    expect(await shared).toBe("broker unreachable");
    expect(second).toEqual({ opened: 2 });
    expect(third).toBe(second);
    expect(attempts).toBe(2);
  });
});

describe("the embedded event log's integrity check", () => {
  it("refuses a file with damaged pages, saying what was found and what to do", async () => {
    // Prepare: a log with records, then pages in the middle of its file overwritten.
    const file = path.join(dir, "event-log.sqlite");
    const log = await openSqliteEventLog({ file, retentionHours: 1 });
    for (let i = 0; i < 40; i++) {
      await log.append(
        "sessions",
        Array.from({ length: 50 }, (_, j) => ({
          key: `device-${j}`,
          value: `{"n":${i * 50 + j}}`.repeat(20),
        })),
      );
    }
    await log.close();
    const size = statSync(file).size;
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(4096 * 4, 0x5a), 0, 4096 * 4, Math.floor(size / 4096 / 2) * 4096);
    closeSync(fd);

    // Act
    const opening = openSqliteEventLog({ file, retentionHours: 1 });

    // Assess
    await expect(opening).rejects.toThrow(EventLogError);
    await expect(opening).rejects.toThrow(/is damaged \(SQLite quick_check: .+\)/);
    await expect(opening).rejects.toThrow(/What to do:[\s\S]*\.recover[\s\S]*docs\/operations\.md/);
  }, 60_000);

  it("opens an intact file, and a new one", async () => {
    // Prepare
    const file = path.join(dir, "event-log.sqlite");
    const first = await openSqliteEventLog({ file, retentionHours: 1 });
    await first.append("sessions", [{ key: "device-1", value: "x" }]);
    await first.close();

    // Act
    const reopened = await openSqliteEventLog({ file, retentionHours: 1 });
    const offsets = await reopened.offsets("sessions");
    await reopened.close();

    // Assess
    expect(offsets).toEqual([{ partition: 0, low: "0", high: "1" }]);
  });

  it("logs a failed append and reports the log degraded until an append succeeds", async () => {
    // Prepare: a file that may not grow (SQLite's max_page_count), so appends fail with SQLITE_FULL.
    const file = path.join(dir, "event-log.sqlite");
    const lines: string[] = [];
    const log = await openSqliteEventLog({
      file,
      retentionHours: 1,
      onAppendError: (line) => lines.push(line),
    });
    await log.append("sessions", [{ key: "device-1", value: "first" }]);
    const db = (log as unknown as { db: { pragma(s: string): unknown } }).db;
    const pages = db.pragma("page_count") as { page_count: number }[];
    db.pragma(`max_page_count = ${pages[0]!.page_count}`);
    const model = new HealthModel([eventLogCheck(log)]);

    // Act
    const failed = log.append("sessions", [{ key: "device-2", value: "y".repeat(200_000) }]);
    await expect(failed).rejects.toThrow(/nothing in this batch was acknowledged/);
    const afterFailure = await model.check();
    db.pragma("max_page_count = 1073741823");
    await log.append("sessions", [{ key: "device-3", value: "z" }]);
    const afterSuccess = await model.check();
    await log.close();

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^event log: appending 1 record\(s\) to .*event-log\.sqlite failed: /);
    expect(afterFailure.components[0]).toMatchObject({ component: "event-log", status: "degraded" });
    expect(afterSuccess.components[0]).toMatchObject({ component: "event-log", status: "ok" });
  });
});

describe("the data folder lock", () => {
  it("names the process holding the folder, and takes over a lock left by a killed process", async () => {
    // Prepare: another process holds the folder.
    const holder = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { lockDataFolder } from "#shared/platform/data-folder-lock.ts";
         lockDataFolder(${JSON.stringify(dir)}, "test holder"); console.log("locked"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("locked")) resolve();
      });
      holder.once("exit", (code) => reject(new Error(`holder exited with ${code}`)));
    });

    // Act
    let refused: unknown;
    try {
      lockDataFolder(dir, "npm start");
    } catch (error) {
      refused = error;
    }
    const heldBy = dataFolderLockHolder(dir);
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.once("exit", resolve));
    const lock = lockDataFolder(dir, "npm start");
    const afterTakeOver = dataFolderLockHolder(dir);
    lock.release();

    // Assess
    expect(refused).toBeInstanceOf(DataFolderLockedError);
    expect((refused as Error).message).toContain(`The data folder ${dir} is in use by process ${holder.pid}`);
    expect((refused as Error).message).toContain("test holder");
    expect(heldBy).toBe(holder.pid);
    expect(afterTakeOver).toBeUndefined();
    expect(() => statSync(path.join(dir, LOCK_FILE))).toThrow();
  }, 60_000);
});
