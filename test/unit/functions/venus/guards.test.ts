import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "#functions/venus/auth-limiter.ts";
import type { ConnectionState, ConnectionStore } from "#functions/venus/connection-store.ts";
import { Venus } from "#functions/venus/ingest.ts";
import { startVenusServer } from "#host/venus-server.ts";
import { openSqliteEventLog } from "#shared/event-log/sqlite/index.ts";
import { errorReasonHeader, MAX_ERROR_REASON_BYTES } from "#shared/events/index.ts";
import { RefusedConnection, TestClient, v1Message } from "#test/helpers/platform.ts";
import { spawnProcess } from "#test/helpers/processes.ts";

/** A connection store that fails on demand, as a full disk or a throttled DynamoDB table would. */
class FailingStore implements ConnectionStore {
  readonly states = new Map<string, ConnectionState>();
  failPut = false;
  failGet = false;
  async get(connectionId: string) {
    if (this.failGet) throw new Error("store unreachable at /var/secret/path.sqlite");
    return this.states.get(connectionId);
  }
  async put(state: ConnectionState) {
    if (this.failPut) throw new Error("store unreachable at /var/secret/path.sqlite");
    this.states.set(state.connectionId, state);
  }
  async delete(connectionId: string) {
    this.states.delete(connectionId);
  }
  async close() {}
}

const KEY = "guard-test-key";

describe("Venus's guards", () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  async function venusOver(store: ConnectionStore) {
    const folder = mkdtempSync(path.join(os.tmpdir(), "packetpulse-guards-"));
    folders.push(folder);
    const log = await openSqliteEventLog({ file: path.join(folder, "log.sqlite"), retentionHours: 1 });
    await log.ensureTopics([
      { topic: "sessions", partitions: 1 },
      { topic: "sessions-dlq", partitions: 1 },
    ]);
    const errors: string[] = [];
    const venus = new Venus({
      log,
      connections: store,
      apiKey: KEY,
      topics: { sessions: "sessions", deadLetter: "sessions-dlq" },
      logger: { warn: () => {}, error: (line) => errors.push(line) },
    });
    return { venus, log, errors };
  }

  it("answers a frame whose handling fails with an internal error, and the next frame is handled", async () => {
    // Prepare: a v1 connection the store cannot look up
    const store = new FailingStore();
    const { venus, log, errors } = await venusOver(store);
    store.failGet = true;

    // Act
    const failed = await venus.receive("unknown-connection", JSON.stringify(v1Message()));
    store.failGet = false;
    const next = await venus.receive(
      "unknown-connection",
      JSON.stringify({ type: "authentication", api_key: KEY }),
    );
    await log.close();

    // Assess: the client learns an id, not the path; the server logs the cause with that id
    const message = JSON.parse(failed.reply).message as string;
    expect(message).toMatch(/^Internal error while handling this frame \(error id [\w-]+\)/);
    expect(message).not.toContain("/var/secret");
    const errorId = /error id ([\w-]+)/.exec(message)![1]!;
    expect(errors.some((line) => line.includes(errorId) && line.includes("/var/secret/path.sqlite"))).toBe(
      true,
    );
    expect(venus.stats.internalErrors).toBe(1);
    expect(next.reply).toBe('{"status":"authenticated","message":"Authentication successful"}');
  });

  it("refuses a connection with 503 when its state cannot be stored, and serves the next one", async () => {
    // Prepare
    const store = new FailingStore();
    const { venus, log } = await venusOver(store);
    const server = await startVenusServer({ venus, log, host: "127.0.0.1", port: 0 });
    const url = `ws://127.0.0.1:${server.port}/ws`;

    // Act
    store.failPut = true;
    const refused = await TestClient.open(url).then(
      () => 0,
      (error: unknown) => (error instanceof RefusedConnection ? error.statusCode : -1),
    );
    store.failPut = false;
    const client = await TestClient.open(url);
    const reply = await client.request({ type: "authentication", api_key: KEY });
    client.close();
    await server.close();
    await log.close();

    // Assess
    expect(refused).toBe(503);
    expect(reply).toBe('{"status":"authenticated","message":"Authentication successful"}');
  });
});

describe("the DLQ reason header", () => {
  it("keeps every issue when they fit, and stays within its bound for many long issues", () => {
    // Prepare
    const few = [{ field: "lat", rule: "range", message: "lat must be between -90 and 90 (got 91)" }];
    const many = Array.from({ length: 200 }, (_, i) => ({
      field: `field_${i}`,
      rule: "max_length",
      message: `field_${i} is too long: ${"x".repeat(500)}`,
    }));

    // Act
    const small = errorReasonHeader(few);
    const bounded = errorReasonHeader(many);

    // Assess
    expect(JSON.parse(small)).toEqual(few);
    expect(Buffer.byteLength(bounded)).toBeLessThanOrEqual(MAX_ERROR_REASON_BYTES);
    const parsed = JSON.parse(bounded) as { field: string; rule: string; message: string }[];
    expect(parsed[0]!.field).toBe("field_0");
    expect(parsed.at(-1)).toMatchObject({ rule: "omitted" });
    expect(parsed.at(-1)!.message).toBe(`${200 - (parsed.length - 1)} more issues left out`);
  });
});

describe("the failed-authentication limiter", () => {
  it("refuses an address after its failures of the minute, tells when it may retry, and logs sparingly", () => {
    // Prepare
    let now = 1_000_000;
    const lines: string[] = [];
    const limiter = new AuthFailureLimiter({
      perMinute: 3,
      now: () => now,
      warn: (line) => lines.push(line),
    });

    // Act
    for (let i = 0; i < 3; i += 1) {
      limiter.record("10.1.2.3", "wrong API key");
      now += 1000;
    }
    const blocked = limiter.blockedSeconds("10.1.2.3");
    const other = limiter.blockedSeconds("10.9.9.9");
    now += 60_000;
    const later = limiter.blockedSeconds("10.1.2.3");

    // Assess
    expect(blocked).toBe(57);
    expect(other).toBe(0);
    expect(later).toBe(0);
    expect(lines).toEqual(["venus: authentication failed from 10.1.2.3: wrong API key"]);
  });
});

describe("the process guard of npm start", () => {
  it("logs what escaped every handler and keeps the process running", async () => {
    // Prepare: a process that throws from a timer and rejects a promise, then says it is still alive
    const script = `
      import { installProcessGuard } from ${JSON.stringify(pathToFileURL(path.resolve("host/process-guard.ts")).href)};
      installProcessGuard();
      setTimeout(() => { throw new Error("a connection's handler failed"); }, 10);
      setTimeout(() => { void Promise.reject(new Error("a rejected append")); }, 20);
      setTimeout(() => { console.log("still running"); process.exit(0); }, 200);
    `;

    // Act
    const child = spawnProcess("node", ["--import", "tsx", "--input-type=module", "-e", script], {});
    const code = await child.exited;

    // Assess
    expect(code).toBe(0);
    expect(child.output()).toContain(
      "uncaught exception #1 (the platform goes on; please report it): Error: a connection's handler failed",
    );
    expect(child.output()).toContain("unhandled rejection #2");
    expect(child.output()).toContain("still running");
  });
});
