import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ConnectionStore,
  DynamoConnectionStore,
  SqliteConnectionStore,
} from "#functions/venus/connection-store.ts";

/**
 * Venus's connection state stores. DynamoDB runs against moto's server (scripts/moto.sh), named by
 * PACKETPULSE_TEST_DYNAMODB_ENDPOINT; CI starts it.
 */

const dynamoEndpoint = process.env.PACKETPULSE_TEST_DYNAMODB_ENDPOINT;
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

const stores: [string, () => Promise<{ store: ConnectionStore; reopen: () => Promise<ConnectionStore> }>][] =
  [
    [
      "sqlite",
      async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-connections-"));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        const file = path.join(dir, "venus-connections.sqlite");
        return {
          store: await SqliteConnectionStore.open(file),
          reopen: () => SqliteConnectionStore.open(file),
        };
      },
    ],
  ];
if (dynamoEndpoint) {
  stores.push([
    "dynamodb",
    async () => {
      const table = `venus-connections-${randomUUID().slice(0, 8)}`;
      const client = new DynamoDBClient({ region: "us-east-1", endpoint: dynamoEndpoint });
      // The same key schema as the table declared in serverless.yml.
      await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [{ AttributeName: "connectionId", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "connectionId", KeyType: "HASH" }],
        }),
      );
      client.destroy();
      const open = () => DynamoConnectionStore.open({ table, region: "us-east-1", endpoint: dynamoEndpoint });
      return { store: await open(), reopen: open };
    },
  ]);
}
const cleanups: (() => void)[] = [];

describe.each(stores)("Venus connection store on %s", (_name, make) => {
  afterAll(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it("keeps a connection's authentication for another instance to read, until it disconnects", async () => {
    // Prepare
    const { store, reopen } = await make();
    const other = await reopen();
    const state = {
      connectionId: `conn-${randomUUID()}`,
      authenticated: false,
      protocol: "v1" as const,
      connectedAt: 1_795_947_300_000,
      sourceIp: "203.0.113.7",
    };

    // Act
    await store.put(state);
    const beforeAuthentication = await other.get(state.connectionId);
    await store.put({ ...state, authenticated: true });
    const afterAuthentication = await other.get(state.connectionId);
    await other.delete(state.connectionId);
    const afterDisconnect = await store.get(state.connectionId);

    // Assess
    expect(beforeAuthentication).toEqual(state);
    expect(afterAuthentication).toEqual({ ...state, authenticated: true });
    expect(afterDisconnect).toBeUndefined();
    await store.close();
    await other.close();
  });

  it("knows nothing of a connection it never saw", async () => {
    // Prepare
    const { store } = await make();

    // Act
    const state = await store.get("never-connected");

    // Assess
    expect(state).toBeUndefined();
    await store.close();
  });
});
