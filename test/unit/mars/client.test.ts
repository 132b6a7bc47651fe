import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WireUnit } from "#mars/chaos.ts";
import { MarsClient, type MarsClientOptions } from "#mars/client.ts";
import { MarsAuthError, MarsGaveUpError } from "#mars/errors.ts";
import { type OutboundFrame, V2Batcher, v1Frame } from "#mars/frames.ts";
import { protocolUnits } from "#mars/stream.ts";
import {
  closedUrl,
  type FakeVenus,
  type FrameVerdict,
  type ReceivedFrame,
  startFakeVenus,
  TEST_API_KEY,
} from "#test/helpers/mars-server.ts";

const STREAM = { seed: "client", sessions: 3, startMs: Date.UTC(2024, 4, 1, 9, 0), hours: 2, couriers: 2 };

let v1Units: WireUnit[];
let v2Units: WireUnit[];
let venus: FakeVenus | undefined;
let client: MarsClient | undefined;

beforeAll(() => {
  v1Units = [...protocolUnits({ ...STREAM, protocol: "v1" })].slice(0, 40);
  v2Units = [...protocolUnits({ ...STREAM, protocol: "v2" })].slice(0, 450);
});

afterEach(async () => {
  await client?.close();
  await venus?.close();
  client = undefined;
  venus = undefined;
});

async function serve(
  protocol: "v1" | "v2",
  onFrame?: (frame: ReceivedFrame) => FrameVerdict,
): Promise<FakeVenus> {
  venus = await startFakeVenus({ protocol, onFrame });
  return venus;
}

function connect(
  options: Partial<MarsClientOptions> & Pick<MarsClientOptions, "url" | "protocol">,
): MarsClient {
  client = new MarsClient({
    apiKey: TEST_API_KEY,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    jitter: () => 0.5,
    ...options,
  });
  return client;
}

let batchers = 0;

function v2Frames(units: readonly WireUnit[], batchSize: number): OutboundFrame[] {
  // A batcher per call, each with its own run id, so that batch ids never repeat within a test.
  const batcher = new V2Batcher(`test${++batchers}`, batchSize);
  const frames = units.flatMap((u) => batcher.add(u));
  const rest = batcher.flush();
  return rest ? [...frames, rest] : frames;
}

async function sendAll(target: MarsClient, frames: readonly OutboundFrame[]): Promise<void> {
  for (const frame of frames) await target.send(frame);
  await target.drain();
}

describe("Mars client, v1", () => {
  it("sends the authentication frame and the 12-field frames byte for byte", async () => {
    // Prepare
    const server = await serve("v1");
    const mars = connect({ url: server.url, protocol: "v1" });
    const frames = v1Units.slice(0, 5).map(v1Frame);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(server.frames.map((f) => f.text)).toEqual([
      `{"type":"authentication","api_key":"${TEST_API_KEY}"}`,
      ...frames.map((f) => f.text),
    ]);
    expect(Object.keys(JSON.parse(server.frames[1]!.text))).toHaveLength(12);
    expect(mars.stats.acknowledged).toBe(5);
  });

  it("matches replies to frames in order and counts acknowledged and rejected", async () => {
    // Prepare
    const server = await serve("v1");
    const mars = connect({ url: server.url, protocol: "v1" });
    const broken = { text: '{"device_id":"not-a-uuid"}', units: 1 };
    const frames = [
      ...v1Units.slice(0, 3).map(v1Frame),
      broken,
      v1Frame(v1Units[3]!),
      { text: "{oops", units: 1 },
    ];

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(mars.stats.acknowledged).toBe(4);
    expect(mars.stats.rejected).toBe(2);
    expect(mars.stats.lastRejection).toMatch(/Invalid JSON/);
  });

  it("ignores replies that are not replies, and still matches the real ones", async () => {
    // Prepare: anything that is not an object with a boolean "success".
    const junk = fc.sample(
      fc.oneof(
        fc.string(),
        fc.json().filter((text) => {
          const value = JSON.parse(text) as unknown;
          return (
            typeof value !== "object" ||
            value === null ||
            typeof (value as { success?: unknown }).success !== "boolean"
          );
        }),
      ),
      { numRuns: 60, seed: 11 },
    );
    venus = await startFakeVenus({
      protocol: "v1",
      junkBeforeReply: (frame) => junk.slice(frame.index * 5, frame.index * 5 + 5),
    });
    const mars = connect({ url: venus.url, protocol: "v1" });
    const frames = v1Units.slice(0, 10).map(v1Frame);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(mars.stats.acknowledged).toBe(10);
    expect(mars.stats.rejected).toBe(0);
  });

  it("stops with an authentication error when the key is refused, without retrying", async () => {
    // Prepare
    const server = await serve("v1");
    const mars = connect({ url: server.url, protocol: "v1", apiKey: "wrong-key" });

    // Act
    const started = mars.start();

    // Assess
    await expect(started).rejects.toThrow(MarsAuthError);
    await expect(started).rejects.toThrow(/Authentication failed: invalid API key/);
    // A reconnect is counted when it is planned, before its backoff: none planned means none will come.
    expect(mars.stats.reconnects).toBe(0);
    expect(server.connections).toBe(1);
  });

  it("resends every unacknowledged frame after the server drops the connection", async () => {
    // Prepare: the first connection answers two frames, then dies on the third.
    const server = await serve("v1", (frame) =>
      frame.connection === 1 && frame.index >= 3 ? "drop" : "reply",
    );
    const mars = connect({ url: server.url, protocol: "v1" });
    const frames = v1Units.slice(0, 20).map(v1Frame);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    const second = server.frames.filter((f) => f.connection === 2).map((f) => f.text);
    expect(second[0]).toContain('"type":"authentication"');
    expect(second.slice(1)).toEqual(frames.slice(2).map((f) => f.text));
    expect(mars.stats.acknowledged).toBe(20);
    expect(mars.stats.reconnects).toBe(1);
    expect(mars.stats.framesResent).toBeGreaterThan(0);
  });

  it("treats a silent server as a dead connection and resends on a new one", async () => {
    // Prepare
    const server = await serve("v1", (frame) => (frame.connection === 1 ? "silent" : "reply"));
    const mars = connect({ url: server.url, protocol: "v1", ackTimeoutMs: 300 });
    const frames = v1Units.slice(0, 4).map(v1Frame);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(mars.stats.acknowledged).toBe(4);
    expect(server.connections).toBe(2);
  });

  it("keeps going while every connection makes progress, however often it drops", async () => {
    // Prepare: every connection answers two frames, then dies.
    const server = await serve("v1", (frame) => (frame.index > 2 ? "drop" : "reply"));
    const mars = connect({ url: server.url, protocol: "v1", maxReconnects: 2, window: 4 });
    const frames = v1Units.slice(0, 12).map(v1Frame);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(mars.stats.acknowledged).toBe(12);
    expect(mars.stats.reconnects).toBeGreaterThan(2);
    expect(server.connections).toBeGreaterThan(3);
  });
});

describe("Mars client, v2", () => {
  it("sends the API key at connect and matches acks to batches by id", async () => {
    // Prepare
    const server = await serve("v2");
    const mars = connect({ url: server.url, protocol: "v2" });
    const frames = v2Frames(v2Units, 100);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(server.frames.map((f) => JSON.parse(f.text).batch_id)).toEqual(frames.map((f) => f.batchId));
    expect(mars.stats.acknowledged).toBe(v2Units.length);
    expect(mars.stats.rejected).toBe(0);
  });

  it("reports HTTP 401 at the upgrade as an authentication failure, without retrying", async () => {
    // Prepare
    const server = await serve("v2");
    const mars = connect({ url: server.url, protocol: "v2", apiKey: "wrong-key" });

    // Act
    const started = mars.start();

    // Assess
    await expect(started).rejects.toThrow(MarsAuthError);
    await expect(started).rejects.toThrow(/HTTP 401/);
    // A reconnect is counted when it is planned, before its backoff: none planned means none will come.
    expect(mars.stats.reconnects).toBe(0);
    expect(server.upgradeAttempts).toBe(1);
  });

  it("resends unacknowledged batches, with their batch ids, after the server drops the connection", async () => {
    // Prepare: the first connection answers one batch and dies on the second.
    const server = await serve("v2", (frame) =>
      frame.connection === 1 && frame.index >= 1 ? "drop" : "reply",
    );
    const mars = connect({ url: server.url, protocol: "v2" });
    const frames = v2Frames(v2Units, 50);

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    const resent = server.frames.filter((f) => f.connection === 2).map((f) => JSON.parse(f.text).batch_id);
    expect(resent).toEqual(frames.slice(1).map((f) => f.batchId));
    expect(mars.stats.acknowledged).toBe(v2Units.length);
  });

  it("counts invalid events and frames that are not JSON as rejected", async () => {
    // Prepare
    const server = await serve("v2");
    const mars = connect({ url: server.url, protocol: "v2" });
    const bad: WireUnit = {
      text: JSON.stringify({ ...JSON.parse(v2Units[1]!.text), lat: 123 }),
      kind: "malformed",
      atMs: 0,
    };
    const frames = [
      ...v2Frames([v2Units[0]!, bad], 10),
      { text: '{"type":"ev', units: 1, garbage: true },
      { text: `{"type":"events","batch_id":"","events":[${v2Units[2]!.text}]}`, units: 1, garbage: true },
      ...v2Frames([v2Units[3]!], 10),
    ];

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(mars.stats.acknowledged).toBe(2);
    expect(mars.stats.rejected).toBe(3);
  });

  it("abandons a frame the server never answers, and reports it, instead of resending it forever", async () => {
    // Prepare
    const frames = v2Frames(v2Units.slice(0, 30), 10);
    const ignored = frames[1]!.batchId!;
    const server = await serve("v2", (frame) => (frame.text.includes(ignored) ? "silent" : "reply"));
    const mars = connect({ url: server.url, protocol: "v2", maxReconnects: 2, ackTimeoutMs: 300 });

    // Act
    await mars.start();
    await sendAll(mars, frames);

    // Assess
    expect(mars.stats.acknowledged).toBe(20);
    expect(mars.stats.unanswered).toBe(10);
    expect(server.frames.filter((f) => f.text.includes(ignored))).toHaveLength(3);
  });

  it("gives up after the maximum reconnect attempts with a clear message", async () => {
    // Prepare
    const url = await closedUrl();
    const mars = connect({ url, protocol: "v2", maxReconnects: 3 });

    // Act
    const started = mars.start();

    // Assess
    await expect(started).rejects.toThrow(MarsGaveUpError);
    await expect(started).rejects.toThrow(
      new RegExp(
        `^Mars: gave up after 3 reconnect attempts to ${url.replace(/[.]/g, "\\.")}: .*ECONNREFUSED`,
      ),
    );
    expect(mars.stats.reconnects).toBe(3);
    await expect(mars.send({ text: "{}", units: 1 })).rejects.toThrow(MarsGaveUpError);
  });
});
