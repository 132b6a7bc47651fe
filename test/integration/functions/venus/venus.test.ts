import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type V1Message, v1EventId } from "#shared/events/index.ts";
import {
  headerText,
  logBackends,
  RefusedConnection,
  readTopic,
  startTestPlatform,
  TestClient,
  type TestPlatform,
  v1Message,
  v2Ping,
} from "#test/helpers/platform.ts";

const AUTHENTICATED = '{"status":"authenticated","message":"Authentication successful"}';
const ACCEPTED = '{"success":true,"message":"Data received"}';
const AUTH_FAILED = '{"status":"error","message":"Authentication failed: invalid API key"}';

describe.each(logBackends())("Venus on the %s event log", (backend) => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });

  afterAll(async () => {
    await platform?.close();
  });

  const authenticatedV1Client = async () => {
    const client = await TestClient.open(platform.url);
    expect(await client.request({ type: "authentication", api_key: "test-api-key-123" })).toBe(AUTHENTICATED);
    return client;
  };

  it("speaks the original protocol byte for byte and stores the frame unchanged", async () => {
    // Prepare
    const client = await authenticatedV1Client();
    const frame = `{"device_id":"11111111-2222-4333-8444-555555555555","vehicle_id":"1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d","session_id":"0e1d2c3b-4a59-4867-a5b4-c3d2e1f0a9b8","order_id":"9f8e7d6c-5b4a-4392-8817-161514131211","status":"started","timestamp":"2026-01-05T08:00:00","start_lat":37.9755,"start_lon":23.7348,"end_lat":37.9838,"end_lon":23.7275,"current_lat":37.9755,"current_lon":23.7348}`;

    // Act
    const reply = await client.request(frame);
    client.close();

    // Assess
    expect(reply).toBe(ACCEPTED);
    const records = await readTopic(platform.log, platform.config.topics.sessions);
    const stored = records.find((r) => r.key?.toString() === "11111111-2222-4333-8444-555555555555");
    expect(stored?.value?.toString("utf8")).toBe(frame);
    expect(headerText(stored!, "schema_version")).toBe("1");
    expect(headerText(stored!, "event_id")).toBe(v1EventId(JSON.parse(frame) as V1Message));
  });

  it("refuses a wrong API key in the first frame with a clear message and closes", async () => {
    // Prepare
    const client = await TestClient.open(platform.url);

    // Act
    const reply = await client.request({ type: "authentication", api_key: "wrong-key-000" });
    const closed = await client.closed;

    // Assess
    expect(reply).toBe(AUTH_FAILED);
    expect(closed.code).toBe(1008);
  });

  it("refuses a v2 connection with a wrong key at connect with HTTP 401", async () => {
    // Act
    const refused = await TestClient.open(platform.url, { "x-api-key": "wrong-key-000" }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(refused).toBeInstanceOf(RefusedConnection);
    expect((refused as RefusedConnection).statusCode).toBe(401);
    expect((refused as RefusedConnection).body).toContain("invalid API key");
  });

  it("answers data sent before authentication without storing it", async () => {
    // Prepare
    const client = await TestClient.open(platform.url);
    const deviceId = "22222222-2222-4333-8444-555555555555";

    // Act
    const reply = JSON.parse(await client.request(v1Message({ device_id: deviceId })));
    client.close();

    // Assess
    expect(reply.success).toBe(false);
    expect(reply.message).toMatch(/^Not authenticated/);
    const records = await readTopic(platform.log, platform.config.topics.sessions);
    expect(records.some((r) => r.key?.toString() === deviceId)).toBe(false);
  });

  it("rejects bad frames with specific errors, keeps them in the DLQ and keeps the connection open", async () => {
    // Prepare
    const client = await authenticatedV1Client();
    const badDevice = "33333333-2222-4333-8444-555555555555";
    const goodDevice = "44444444-2222-4333-8444-555555555555";

    // Act
    const malformed = JSON.parse(await client.request('{"device_id": "oops"'));
    const notObject = JSON.parse(await client.request("[1,2,3]"));
    const outOfRange = JSON.parse(
      await client.request(v1Message({ device_id: badDevice, current_lat: 123.4 })),
    );
    const unknownStatus = JSON.parse(
      await client.request(v1Message({ device_id: badDevice, status: "teleported" })),
    );
    const good = await client.request(v1Message({ device_id: goodDevice }));

    // Assess
    expect(malformed).toEqual({ success: false, message: expect.stringMatching(/^Invalid JSON/) });
    expect(notObject).toEqual({ success: false, message: "Invalid frame: expected a JSON object" });
    expect(outOfRange.success).toBe(false);
    expect(outOfRange.message).toContain("current_lat");
    expect(unknownStatus.success).toBe(false);
    expect(unknownStatus.message).toContain("status");
    expect(good).toBe(ACCEPTED);
    expect(client.isOpen).toBe(true);
    client.close();

    const dead = await readTopic(platform.log, platform.config.topics.deadLetter);
    const rules = dead.map((r) => headerText(r, "error_rule"));
    expect(rules).toEqual(expect.arrayContaining(["malformed_json", "not_object", "range", "enum"]));
    const rangeLetter = dead.find((r) => headerText(r, "error_rule") === "range")!;
    expect(rangeLetter.key?.toString()).toBe(badDevice);
    expect(JSON.parse(headerText(rangeLetter, "error_reason")!)[0]).toMatchObject({
      field: "current_lat",
      rule: "range",
    });
    expect(dead.find((r) => headerText(r, "error_rule") === "malformed_json")?.value?.toString()).toBe(
      '{"device_id": "oops"',
    );
    const sessions = await readTopic(platform.log, platform.config.topics.sessions);
    expect(sessions.filter((r) => r.key?.toString() === goodDevice)).toHaveLength(1);
    expect(sessions.some((r) => r.key?.toString() === badDevice)).toBe(false);
  });

  it("acknowledges a v2 batch per event, storing good events and dead-lettering bad ones", async () => {
    // Prepare
    const client = await TestClient.open(`${platform.url}?api_key=test-api-key-123`);
    const good = [
      v2Ping({ device_id: "55555555-2222-4333-8444-555555555555" }),
      v2Ping({ device_id: "55555555-2222-4333-8444-555555555555" }),
    ];
    const bad = v2Ping({ device_id: "55555555-2222-4333-8444-555555555555", lon: 0, lat: 0 });

    // Act
    const ack = JSON.parse(
      await client.request({ type: "events", batch_id: "b-1", events: [good[0], bad, good[1]] }),
    );
    const malformed = JSON.parse(await client.request("{not json"));
    const emptyBatch = JSON.parse(await client.request({ type: "events", batch_id: "b-2", events: [] }));
    client.close();

    // Assess
    expect(ack).toMatchObject({ type: "ack", batch_id: "b-1", accepted: 2, rejected: 1 });
    expect(ack.results[0]).toEqual({ ok: true });
    expect(ack.results[1].ok).toBe(false);
    expect(ack.results[1].errors[0].rule).toBe("missing_position");
    expect(ack.results[2]).toEqual({ ok: true });
    expect(malformed).toMatchObject({ type: "error", error: "malformed_json" });
    expect(emptyBatch).toMatchObject({ type: "error", error: "invalid_frame", batch_id: "b-2" });

    const sessions = await readTopic(platform.log, platform.config.topics.sessions);
    const ids = sessions.map((r) => headerText(r, "event_id"));
    expect(ids).toEqual(expect.arrayContaining([good[0]!.event_id, good[1]!.event_id]));
    expect(ids).not.toContain(bad.event_id);
    const stored = sessions.find((r) => headerText(r, "event_id") === good[0]!.event_id)!;
    expect(JSON.parse(stored.value!.toString())).toEqual(good[0]);
    expect(Object.keys(stored.headers).sort()).toEqual(["event_id", "schema_version"]);
    expect(Math.abs(stored.timestamp - Date.now())).toBeLessThan(60_000);
    const dead = await readTopic(platform.log, platform.config.topics.deadLetter);
    expect(dead.some((r) => r.value!.toString().includes(`"event_id":"${bad.event_id}"`))).toBe(true);
  });

  it("reports the event log as reachable on GET /health", async () => {
    // Act
    const response = await fetch(`${platform.httpUrl}/health`);

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", eventLog: { ok: true, backend } });
  });
});
