import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoConnectionStore } from "#functions/venus/connection-store.ts";
import { Venus } from "#functions/venus/ingest.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import { readTopic, v1Message, v2Ping } from "#test/helpers/platform.ts";

/**
 * Two Venus instances sharing one DynamoDB connection store (moto), as two Lambda containers behind one API
 * Gateway WebSocket API: API Gateway sends each frame of a connection to whichever container is free, so
 * the $connect, the authentication frame and the data frames of one connection land on different ones.
 */

const dynamoEndpoint = process.env.PACKETPULSE_TEST_DYNAMODB_ENDPOINT;
const API_KEY = "instances-api-key";

describe.skipIf(!dynamoEndpoint)("two Venus instances sharing the DynamoDB connection store", () => {
  const table = `venus-instances-${randomUUID().slice(0, 8)}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-venus-instances-"));
  const dynamo = new DynamoDBClient({
    region: "us-east-1",
    endpoint: dynamoEndpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const stores: DynamoConnectionStore[] = [];
  let log: EventLog;
  let first: Venus;
  let second: Venus;

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= "test";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test";
    await dynamo.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "connectionId", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "connectionId", KeyType: "HASH" }],
      }),
    );
    log = await openEventLog(
      loadConfig({ PACKETPULSE_DATA_DIR: dataDir, PACKETPULSE_EVENT_LOG: "embedded" }),
    );
    await log.ensureTopics([
      { topic: "sessions", partitions: 3 },
      { topic: "sessions-dlq", partitions: 3 },
    ]);
    // Each instance has its own store client and its own memory, like a container.
    const instance = async () => {
      const connections = await DynamoConnectionStore.open({
        table,
        region: "us-east-1",
        endpoint: dynamoEndpoint,
      });
      stores.push(connections);
      return new Venus({
        log,
        connections,
        apiKey: API_KEY,
        topics: { sessions: "sessions", deadLetter: "sessions-dlq" },
      });
    };
    first = await instance();
    second = await instance();
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    await log?.close();
    await dynamo.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    dynamo.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("accepts a v1 connection's frames on one instance after it authenticated on the other", async () => {
    // Prepare
    const connectionId = `v1-${randomUUID()}`;
    const frame = JSON.stringify(v1Message({ device_id: "77777777-2222-4333-8444-555555555555" }));
    await first.connect({ connectionId });

    // Act
    const early = JSON.parse((await first.receive(connectionId, frame)).reply);
    const authenticated = (
      await second.receive(connectionId, JSON.stringify({ type: "authentication", api_key: API_KEY }))
    ).reply;
    const onFirst = (await first.receive(connectionId, frame)).reply;
    const onSecond = (await second.receive(connectionId, frame)).reply;

    // Assess
    expect(early.success).toBe(false);
    expect(early.message).toMatch(/^Not authenticated/);
    expect(authenticated).toBe('{"status":"authenticated","message":"Authentication successful"}');
    expect(onFirst).toBe('{"success":true,"message":"Data received"}');
    expect(onSecond).toBe('{"success":true,"message":"Data received"}');
    const stored = (await readTopic(log, "sessions")).map((record) => record.value!.toString());
    expect(stored.filter((value) => value === frame)).toHaveLength(2);
  });

  it("accepts a v2 batch on the instance that did not see the connect", async () => {
    // Prepare
    const connectionId = `v2-${randomUUID()}`;
    await first.connect({ connectionId, headers: { "x-api-key": API_KEY } });

    // Act
    const ack = JSON.parse(
      (
        await second.receive(
          connectionId,
          JSON.stringify({ type: "events", batch_id: "b-1", events: [v2Ping()] }),
        )
      ).reply,
    );

    // Assess
    expect(ack).toMatchObject({ type: "ack", batch_id: "b-1", accepted: 1, rejected: 0 });
  });

  it("keeps frames of one connection in order while its state is read from the store", async () => {
    // Prepare
    const connectionId = `order-${randomUUID()}`;
    const device = "88888888-2222-4333-8444-555555555555";
    const frames = [1, 2, 3, 4, 5].map((n) =>
      JSON.stringify(v1Message({ device_id: device, current_lat: 37.97 + n / 1000 })),
    );
    await first.connect({ connectionId });

    // Act: authentication and data frames sent back to back, as a client that does not wait for replies.
    const replies = await Promise.all([
      first.receive(connectionId, JSON.stringify({ type: "authentication", api_key: API_KEY })),
      ...frames.map((frame) => first.receive(connectionId, frame)),
    ]);

    // Assess
    expect(replies.slice(1).map((r) => JSON.parse(r.reply).success)).toEqual([true, true, true, true, true]);
    const stored = (await readTopic(log, "sessions"))
      .map((record) => record.value!.toString())
      .filter((value) => value.includes(device));
    expect(stored).toEqual(frames);
  });
});
