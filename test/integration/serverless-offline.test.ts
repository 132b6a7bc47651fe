import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { headerText, isolatedEnv, readTopic, TestClient, v1Message, v2Ping } from "#test/helpers/platform.ts";
import { freePort, type Spawned, spawnProcess } from "#test/helpers/processes.ts";
import { waitUntil } from "#test/helpers/wait.ts";
import { buildHandlers } from "../../scripts/build.ts";

/** The same Venus handlers under `serverless offline`, reached with a real WebSocket client. */
describe("Venus under serverless offline", () => {
  let offline: Spawned;
  let env: Record<string, string>;
  let wsUrl: string;
  let httpUrl: string;

  beforeAll(async () => {
    await buildHandlers();
    const [wsPort, httpPort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
    env = isolatedEnv("embedded", {
      VENUS_PORT: String(wsPort),
      OFFLINE_HTTP_PORT: String(httpPort),
      OFFLINE_LAMBDA_PORT: String(lambdaPort),
    });
    wsUrl = `ws://127.0.0.1:${wsPort}/ws`;
    httpUrl = `http://127.0.0.1:${httpPort}`;
    offline = spawnProcess("npx", ["serverless", "offline"], env);
    await offline.waitFor("Server ready", 90_000);
  }, 150_000);

  afterAll(async () => {
    await offline?.stop();
    if (env) rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  });

  it("serves the original protocol at ws://…/ws and stores each acknowledged frame", async () => {
    // Prepare
    const client = await TestClient.open(wsUrl);
    const frame = JSON.stringify(v1Message({ device_id: "66666666-2222-4333-8444-555555555555" }));

    // Act
    const authenticated = await client.request({ type: "authentication", api_key: "test-api-key-123" });
    const acknowledged = await client.request(frame);
    const rejected = JSON.parse(await client.request(JSON.stringify(v1Message({ current_lon: 500 }))));
    client.close();

    // Assess
    expect(authenticated).toBe('{"status":"authenticated","message":"Authentication successful"}');
    expect(acknowledged).toBe('{"success":true,"message":"Data received"}');
    expect(rejected.success).toBe(false);
    expect(rejected.message).toContain("current_lon");
    const log = await openEventLog(loadConfig(env));
    const sessions = await readTopic(log, "sessions");
    const dead = await readTopic(log, "sessions-dlq");
    await log.close();
    expect(sessions.map((r) => r.value!.toString())).toContain(frame);
    expect(dead.map((r) => headerText(r, "error_rule"))).toContain("range");
  });

  it("accepts the original devices' frames unchanged (extra fields, naive timestamps) and stores them byte for byte", async () => {
    // Prepare: the fixture of original frames (route_name, waypoint_count; with and without microseconds)
    const frames = readFileSync(path.resolve("events/fixtures/original-devices-v1.ndjson"), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "");
    const client = await TestClient.open(wsUrl);
    await client.request({ type: "authentication", api_key: "test-api-key-123" });

    // Act
    const replies: string[] = [];
    for (const frame of frames) replies.push(await client.request(frame));
    client.close();

    // Assess
    expect(frames.length).toBeGreaterThanOrEqual(30);
    expect(new Set(replies)).toEqual(new Set(['{"success":true,"message":"Data received"}']));
    const log = await openEventLog(loadConfig(env));
    const sessions = new Set((await readTopic(log, "sessions")).map((r) => r.value!.toString()));
    await log.close();
    for (const frame of frames) expect(sessions.has(frame)).toBe(true);
  });

  it("replies to a wrong key and closes the connection through the management API", async () => {
    // Prepare
    const client = await TestClient.open(wsUrl);

    // Act
    const reply = await client.request({ type: "authentication", api_key: "wrong-key-000" });
    const closed = await client.closed;

    // Assess
    expect(reply).toBe('{"status":"error","message":"Authentication failed: invalid API key"}');
    expect(closed.code).toBeGreaterThan(0);
  });

  it("accepts v2 batches with the key at connect", async () => {
    // Prepare
    const client = await TestClient.open(wsUrl, { "x-api-key": "test-api-key-123" });
    const events = [v2Ping(), v2Ping({ speed_kmh: -3 })];

    // Act
    const ack = JSON.parse(await client.request({ type: "events", batch_id: "offline-1", events }));
    client.close();

    // Assess
    expect(ack).toMatchObject({ type: "ack", batch_id: "offline-1", accepted: 1, rejected: 1 });
    expect(ack.results[1].errors[0]).toMatchObject({ field: "speed_kmh" });
  });

  it("runs Jupiter's msk trigger through the event-source plugin on what Venus stored", async () => {
    // Prepare: what the earlier tests sent is in the sessions topic
    const statsFile = path.join(env.PACKETPULSE_DATA_DIR!, "event-source-runtime.json");
    type Stats = {
      eventSources: {
        functionName: string;
        lag: number | null;
        recordsProcessed: number;
        failedInvocations: number;
      }[];
    };
    const jupiter = () =>
      existsSync(statsFile)
        ? (JSON.parse(readFileSync(statsFile, "utf8")) as Stats).eventSources.find(
            (s) => s.functionName === "jupiter",
          )
        : undefined;

    // Act: the plugin writes its stats every few seconds
    await waitUntil(
      () => (jupiter()?.recordsProcessed ?? 0) >= 2 && jupiter()?.lag === 0,
      "Jupiter's statistics with both records processed",
      60_000,
      { pollMs: 500 },
    );

    // Assess
    expect(jupiter()).toMatchObject({ lag: 0, failedInvocations: 0 });
    expect(jupiter()!.recordsProcessed).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it("reports health over HTTP", async () => {
    // Act
    const response = await fetch(`${httpUrl}/health`);

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ok",
      eventLog: { ok: true, backend: "embedded" },
    });
  });
});
