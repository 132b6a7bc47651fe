import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import type { ConsumedRecord } from "#shared/event-log/types.ts";
import {
  headerText,
  isolatedEnv,
  RefusedConnection,
  readTopic,
  TestClient,
  v1Message,
  v2Ping,
} from "#test/helpers/platform.ts";
import { freePort, type Spawned, spawnProcess } from "#test/helpers/processes.ts";

/**
 * Venus's front door through `npm start`, as devices and hostile clients meet it: the original devices'
 * frames unchanged, frames that used to stop the process, clients that do not read, flood the dead-letter
 * topic, guess keys or hold connections. Each scenario connects from its own loopback address (127.0.0.x),
 * so the per-address limits of one do not touch the others.
 */

const ORIGINAL_FRAMES = readFileSync(
  path.resolve(import.meta.dirname, "../../../../events/fixtures/original-devices-v1.ndjson"),
  "utf8",
)
  .split("\n")
  .filter((line) => line.trim() !== "");

const KEY = "front-door-key-42";
const LIMITS = {
  VENUS_AUTH_TIMEOUT_MS: "1500",
  VENUS_AUTH_FAILURES_PER_MINUTE: "5",
  VENUS_MAX_CONNECTIONS_PER_ADDRESS: "4",
  VENUS_MAX_CONNECTIONS: "24",
  VENUS_REPLY_BUFFER_PAUSE_KB: "256",
  VENUS_REPLY_BUFFER_CLOSE_KB: "4096",
  VENUS_REPLY_STALL_CLOSE_MS: "3000",
};

/** Resident memory of a process in MB, as the kernel counts it. */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function nested(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

describe("Venus's front door under npm start", () => {
  let platform: Spawned;
  let env: Record<string, string>;
  let url: string;
  let port: number;
  const open = (address: string, headers: Record<string, string> = {}) =>
    TestClient.open(url, headers, { localAddress: address });

  beforeAll(async () => {
    port = await freePort();
    env = isolatedEnv("embedded", {
      ...LIMITS,
      API_KEY: KEY,
      VENUS_PORT: String(port),
      CLICKHOUSE_HTTP_PORT: "0",
    });
    url = `ws://127.0.0.1:${port}/ws`;
    platform = spawnProcess("node", ["--import", "tsx", "host/start.ts"], env);
    // Fully started: the last line of the start-up lists the scheduled functions.
    await platform.waitFor(/uranus refreshing the gold tables[\s\S]*every \d+ min/, 90_000);
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    if (env) rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1 only unless VENUS_HOST says otherwise", async () => {
    // Act
    const elsewhere = await TestClient.open(`ws://127.0.0.2:${port}/ws`).then(
      () => "connected",
      (error: NodeJS.ErrnoException) => error.code,
    );

    // Assess
    expect(platform.output()).toContain(`Venus  ws://127.0.0.1:${port}/ws`);
    expect(elsewhere).toBe("ECONNREFUSED");
  });

  it("answers a frame nested 4,500 levels deep on both protocols, and the process goes on", async () => {
    // Prepare: the frame that stopped the process, as a v1 frame and as one event of a v2 batch
    const v1 = await open("127.0.0.11");
    await v1.request({ type: "authentication", api_key: KEY });
    const v2 = await open("127.0.0.11", { "x-api-key": KEY });
    const deepFrame = `{"device_id":${nested(4500)}}`;
    const batch = `{"type":"events","batch_id":"deep-1","events":[${JSON.stringify(v2Ping())},${nested(4500)},${JSON.stringify(v2Ping())}]}`;

    const deepWithinSize = JSON.stringify(v1Message()).replace(/}$/, `,"route_name":${nested(3000)}}`);

    // Act
    const v1Reply = JSON.parse(await v1.request(deepFrame));
    const v1DepthReply = JSON.parse(await v1.request(deepWithinSize));
    const v2Reply = JSON.parse(await v2.request(batch));
    const after = JSON.parse(await v1.request(JSON.stringify(v1Message())));
    v1.close();
    v2.close();

    // Assess
    expect(deepFrame.length).toBeGreaterThan(9000);
    expect(v1Reply).toMatchObject({ success: false });
    expect(v1Reply.message).toContain("bytes");
    expect(deepWithinSize.length).toBeLessThan(8192);
    expect(v1DepthReply).toEqual({
      success: false,
      message: "Invalid data: the event nests objects or arrays more than 16 levels deep",
    });
    expect(v2Reply).toMatchObject({ type: "ack", batch_id: "deep-1", accepted: 2, rejected: 1 });
    expect(v2Reply.results[1].errors[0].rule).toBe("not_object");
    expect(after).toEqual({ success: true, message: "Data received" });
    expect(platform.child.exitCode).toBeNull();
  });

  it("rejects an event nested deeper than 16 levels by name, and keeps the raw frame once in the DLQ", async () => {
    // Prepare
    const client = await open("127.0.0.12", { "x-api-key": KEY });
    const deep = v2Ping({ device_id: "deep-device-1" });
    let inner: unknown = 1;
    for (let level = 0; level < 3000; level += 1) inner = { inner };
    const frame = `{"type":"events","batch_id":"deep-2","events":[${JSON.stringify(v2Ping())},${JSON.stringify({ ...deep, heading_deg: "x" }).slice(0, -1)},"extra":${JSON.stringify(inner)}}]}`;

    // Act
    const ack = JSON.parse(await client.request(frame));
    client.close();

    // Assess
    expect(ack).toMatchObject({ accepted: 1, rejected: 1 });
    expect(ack.results[1].errors).toEqual([expect.objectContaining({ field: "", rule: "max_depth" })]);
  });

  it("replies frame_too_large to a frame over 1 MiB before it closes the connection with 1009", async () => {
    // Prepare
    const client = await open("127.0.0.13", { "x-api-key": KEY });
    const frame = JSON.stringify({ type: "events", batch_id: "big", events: ["x".repeat(2 * 1024 * 1024)] });

    // Act
    client.send(frame);
    const reply = JSON.parse(await client.next());
    const closed = await client.closed;

    // Assess
    expect(reply).toMatchObject({ type: "error", error: "frame_too_large" });
    expect(reply.message).toContain("1048576-byte limit");
    expect(closed.code).toBe(1009);
    expect(platform.child.exitCode).toBeNull();
  });

  it("stops reading a client that does not read its replies, closes it, and keeps memory bounded", async () => {
    // Prepare: a v1 client that repeats its authentication frame (answered, never written to the log, so the
    // pipeline's own memory stays out of the measurement) and never reads a reply
    const client = await open("127.0.0.14");
    await client.request({ type: "authentication", api_key: KEY });
    const socket = (client.socket as unknown as { _socket: { pause(): void } })._socket;
    socket.pause();
    const before = rssMb(platform.child.pid!);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(platform.child.pid!));
    }, 100);
    const frame = JSON.stringify({ type: "authentication", api_key: KEY, pad: "p".repeat(200) });

    // Act: send as fast as the server takes frames, for at most 40 s or until it closes the connection
    let sent = 0;
    const deadline = Date.now() + 40_000;
    while (client.isOpen && Date.now() < deadline && sent < 2_000_000) {
      if (client.socket.bufferedAmount > 8 * 1024 * 1024) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      for (let i = 0; i < 1000; i += 1, sent += 1) client.socket.send(frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const closed = await Promise.race([
      client.closed,
      new Promise<{ code: number; reason: string }>((resolve) =>
        setTimeout(() => resolve({ code: -1, reason: "not closed" }), 20_000),
      ),
    ]);
    clearInterval(sampler);

    // Assess: the server stopped reading (the client could not send its 2 million frames), then closed the
    // connection; the client, not reading, never sees the close frame, so its side ends abnormally (1006)
    expect(sent).toBeLessThan(1_000_000);
    expect([1006, 1008]).toContain(closed.code);
    await platform.waitFor(
      /closing connection [\w-]+ from (::ffff:)?127\.0\.0\.14: Replies not read for 3 s/,
      5_000,
    );
    // Garbage from the frames read before the pause accounts for most of it (a client that reads its
    // replies grows the process about as much); the 2 million frames it tried to send are 500 MB.
    expect(peak - before).toBeLessThan(200);
    const next = await open("127.0.0.14", { "x-api-key": KEY });
    const ack = JSON.parse(await next.request({ type: "events", batch_id: "after-bp", events: [v2Ping()] }));
    next.close();
    expect(ack).toMatchObject({ accepted: 1 });
  }, 90_000);

  it("closes a connection that sends mostly rejected events before it multiplies dead letters", async () => {
    // Prepare: frames of 500 events that all break the contract
    const client = await open("127.0.0.15", { "x-api-key": KEY });
    const bad = (frame: number) =>
      JSON.stringify({
        type: "events",
        batch_id: `amplify-${frame}`,
        events: Array.from({ length: 500 }, (_, i) =>
          v2Ping({ device_id: `amplify-${frame}-${i}`, lat: 123, lon: 456, speed_kmh: -1 }),
        ),
      });

    // Act: ten such frames at once
    for (let frame = 0; frame < 10; frame += 1) client.send(bad(frame));
    const replies: unknown[] = [];
    const closed = client.closed;
    for (;;) {
      const reply = await Promise.race([client.next(20_000), closed.then(() => undefined)]);
      if (reply === undefined) break;
      replies.push(JSON.parse(reply));
    }
    const { code, reason } = await closed;

    // Assess: two frames crossed the limit (900 of 1,000); the rest were refused unread
    expect(code).toBe(1008);
    expect(reason).toMatch(/^Too many rejected events: 1000 of the last 1000 events were rejected/);
    expect(replies.filter((r) => (r as { type: string }).type === "ack")).toHaveLength(2);
  }, 60_000);

  it("gives a v1 client a time limit for its authentication frame", async () => {
    // Prepare
    const client = await open("127.0.0.16");

    // Act: say nothing
    const reply = JSON.parse(await client.next(10_000));
    const closed = await client.closed;

    // Assess
    expect(reply).toEqual({
      status: "error",
      message: "Authentication timeout: no authentication frame within 2 s",
    });
    expect(closed.code).toBe(1008);
  });

  it("rate-limits failed keys per address, logs them with the address, and keeps other addresses working", async () => {
    // Act: eight wrong keys from one address, by frame (v1) and at connect (v2)
    const frameReplies: string[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const client = await open("127.0.0.17");
      frameReplies.push(
        JSON.parse(await client.request({ type: "authentication", api_key: `guess-${attempt}` })).message,
      );
      await client.closed;
    }
    const connectStatuses: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const status = await open("127.0.0.17", { "x-api-key": `guess-v2-${attempt}` }).then(
        () => 200,
        (error: unknown) => (error instanceof RefusedConnection ? error.statusCode : -1),
      );
      connectStatuses.push(status);
    }
    // The right key from the limited address, and from another one
    const rightFromLimited = await open("127.0.0.17", { "x-api-key": KEY }).then(
      () => 200,
      (error: unknown) => (error instanceof RefusedConnection ? error.statusCode : -1),
    );
    const other = await open("127.0.0.18");
    const otherReply = await other.request({ type: "authentication", api_key: KEY });
    other.close();

    // Assess: five failures a minute, then refusals without a key check
    expect(frameReplies).toEqual(Array(4).fill("Authentication failed: invalid API key"));
    expect(connectStatuses).toEqual([401, 429, 429, 429]);
    expect(rightFromLimited).toBe(429);
    expect(otherReply).toBe('{"status":"authenticated","message":"Authentication successful"}');
    await platform.waitFor(/authentication failed from (::ffff:)?127\.0\.0\.17: wrong API key/, 10_000);
    await platform.waitFor(/[1-9]\d* failed authentications/, 15_000);
  });

  it("caps connections per address and in total", async () => {
    // Prepare: four from one address (the cap), then one more
    const held: TestClient[] = [];
    for (let i = 0; i < 4; i += 1) held.push(await open("127.0.0.19", { "x-api-key": KEY }));

    // Act
    const fifth = await open("127.0.0.19", { "x-api-key": KEY }).then(
      () => 200,
      (error: unknown) => (error instanceof RefusedConnection ? error.statusCode : -1),
    );
    for (const address of ["127.0.0.20", "127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"]) {
      for (let i = 0; i < 4 && held.length < 24; i += 1) held.push(await open(address, { "x-api-key": KEY }));
    }
    const overTotal = await open("127.0.0.25", { "x-api-key": KEY }).then(
      () => 200,
      (error: unknown) => (error instanceof RefusedConnection ? error.statusCode : -1),
    );
    for (const client of held) client.close();
    await Promise.all(held.map((client) => client.closed));
    const afterwards = await open("127.0.0.25", { "x-api-key": KEY });
    afterwards.close();

    // Assess
    expect(fifth).toBe(429);
    expect(held).toHaveLength(24);
    expect(overTotal).toBe(503);
  });

  it("accepts the original devices' frames byte for byte: extra fields kept raw, counted, answered as the original did", async () => {
    // Prepare: the original client, with this platform's key
    const client = await open("127.0.0.26");
    await client.request({ type: "authentication", api_key: KEY });

    // Act
    const replies: string[] = [];
    for (const frame of ORIGINAL_FRAMES) replies.push(await client.request(frame));
    client.close();

    // Assess
    expect(new Set(replies)).toEqual(new Set(['{"success":true,"message":"Data received"}']));
    await platform.waitFor(new RegExp(`${ORIGINAL_FRAMES.length} v1 events with extra fields`), 15_000);
  });

  it("holds every accepted frame on the log, and every rejected one in the DLQ with a bounded reason", async () => {
    // Act: the log, read after the platform let go of it
    await platform.stop();
    const log = await openEventLog(loadConfig(env));
    const sessions: ConsumedRecord[] = await readTopic(log, "sessions");
    const dead: ConsumedRecord[] = await readTopic(log, "sessions-dlq");
    await log.close();

    // Assess: the original frames are on the log as they were sent
    const values = new Set(sessions.map((record) => record.value!.toString("utf8")));
    for (const frame of ORIGINAL_FRAMES) expect(values.has(frame)).toBe(true);
    // Two frames of 500 rejected events, not ten
    const amplified = dead.filter((record) => record.key?.toString().startsWith("amplify-"));
    expect(amplified).toHaveLength(1000);
    for (const record of dead) expect(headerText(record, "error_reason")!.length).toBeLessThanOrEqual(2048);
    // Each batch with an event nested too deep: its raw frame, once; and the v1 frame with a deep extra field
    const deep = dead.filter((record) => headerText(record, "error_rule") === "max_depth");
    const frames = deep.map((record) => JSON.parse(record.value!.toString()) as Record<string, unknown>);
    expect(frames.map((frame) => frame.batch_id ?? `v1 ${typeof frame.route_name}`).sort()).toEqual([
      "deep-1",
      "deep-2",
      "v1 object",
    ]);
  }, 60_000);
});

describe("production defaults", () => {
  it.each<[string, Record<string, string>]>([
    ["unset", {}],
    ["the development default", { API_KEY: "mars-secret-key" }],
    ["the former default", { API_KEY: "packetpulse-dev-key" }],
  ])(
    "npm start refuses to start with NODE_ENV=production and API_KEY %s",
    async (_, apiKey) => {
      // Prepare
      const port = await freePort();
      const env: Record<string, string> = {
        ...isolatedEnv("embedded", {
          NODE_ENV: "production",
          VENUS_PORT: String(port),
          CLICKHOUSE_HTTP_PORT: "off",
        }),
        API_KEY: "",
      };

      // Act
      const started = spawnProcess("node", ["--import", "tsx", "host/start.ts"], {
        ...env,
        ...apiKey,
      });
      const code = await started.exited;

      // Assess
      expect(code).toBe(1);
      expect(started.output()).toContain("API_KEY must be set to a key of your own in production");
      expect(started.output()).not.toContain("PacketPulse is running");
      rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
    },
    60_000,
  );

  it("npm start starts with NODE_ENV=production and a key of one's own", async () => {
    // Prepare
    const port = await freePort();
    const env = isolatedEnv("embedded", {
      NODE_ENV: "production",
      VENUS_PORT: String(port),
      CLICKHOUSE_WRITER_PASSWORD: "writer-secret-of-our-own",
      CLICKHOUSE_READER_PASSWORD: "reader-secret-of-our-own",
      CLICKHOUSE_HTTP_PORT: "0",
    });

    // Act
    const started = spawnProcess("node", ["--import", "tsx", "host/start.ts"], env);
    await started.waitFor("PacketPulse is running", 60_000);
    const code = await started.stop();

    // Assess
    expect(code).toBe(0);
    expect(started.output()).not.toContain("development default");
    rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  }, 90_000);
});
