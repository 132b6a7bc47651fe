import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { headerText, isolatedEnv, readTopic } from "#test/helpers/platform.ts";

/** The Lambda handler driven with API Gateway WebSocket events of the real shape (events/venus/*.json). */

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../../../events/venus/${name}.json`, import.meta.url), "utf8"),
  ) as Record<string, unknown>;

describe("Venus Lambda handler with API Gateway WebSocket events", () => {
  const env = isolatedEnv("embedded");
  let handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body?: string }>;
  const context = {
    functionName: "packetpulse-local-venus",
    awsRequestId: "test",
    getRemainingTimeInMillis: () => 29_000,
  };

  beforeAll(async () => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.resetModules();
    ({ handler } = (await import("#functions/venus/handler.ts")) as never);
  });

  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  });

  it("connects, authenticates by frame, acknowledges a v1 message and stores it, across invocations", async () => {
    // Act
    const connected = await handler(fixture("connect"), context);
    const authenticated = await handler(fixture("default-v1-authentication"), context);
    const message = fixture("default-v1-message");
    const acknowledged = await handler(message, context);
    const disconnected = await handler(fixture("disconnect"), context);

    // Assess
    expect(connected.statusCode).toBe(200);
    expect(authenticated).toEqual({
      statusCode: 200,
      body: '{"status":"authenticated","message":"Authentication successful"}',
    });
    expect(acknowledged).toEqual({
      statusCode: 200,
      body: '{"success":true,"message":"Data received"}',
    });
    expect(disconnected.statusCode).toBe(200);
    const log = await openEventLog(loadConfig(env));
    const records = await readTopic(log, "sessions");
    await log.close();
    expect(records).toHaveLength(1);
    expect(records[0]!.value!.toString()).toBe(message.body);
    expect(headerText(records[0]!, "schema_version")).toBe("1");
  });

  it("keeps authentication in the connection store, not in the invocation", async () => {
    // Prepare: a new connection id that never authenticated
    const message = structuredClone(fixture("default-v1-message")) as {
      requestContext: { connectionId: string };
    };
    message.requestContext.connectionId = "Zz0NEWEXAMPLE0=";

    // Act
    const reply = await handler(message, context);

    // Assess
    expect(reply.statusCode).toBe(200);
    expect(JSON.parse(reply.body!)).toMatchObject({
      success: false,
      message: expect.stringMatching(/^Not authenticated/),
    });
  });

  it("refuses a connect with a wrong x-api-key header with 401", async () => {
    // Prepare
    const connect = structuredClone(fixture("connect")) as { headers: Record<string, string> };
    connect.headers["x-api-key"] = "not-the-key";

    // Act
    const reply = await handler(connect, context);

    // Assess
    expect(reply.statusCode).toBe(401);
    expect(reply.body).toContain("invalid API key");
  });

  it("answers an event that is not an API Gateway WebSocket event with 400", async () => {
    // Act
    const reply = await handler({ hello: "world" }, context);

    // Assess
    expect(reply.statusCode).toBe(400);
    expect(reply.body).toContain("requestContext");
  });
});
