import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { type UserStore, UserStoreError } from "../../../web/server/users.ts";
import { DynamoUserStore } from "../../../web/server/users-dynamo.ts";
import { SqliteUserStore } from "../../../web/server/users-sqlite.ts";

/**
 * Mercury's user stores behind one interface: SQLite in the data folder, DynamoDB for Mercury on Lambda.
 * DynamoDB runs against moto's server (scripts/moto.sh), named by PACKETPULSE_TEST_DYNAMODB_ENDPOINT; CI
 * starts it.
 */

const dynamoEndpoint = process.env.PACKETPULSE_TEST_DYNAMODB_ENDPOINT;
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
const cleanups: (() => void)[] = [];

type Make = () => Promise<{ store: UserStore; reopen: () => Promise<UserStore> }>;
const stores: [string, Make][] = [
  [
    "sqlite",
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "mercury-users-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, "mercury-users.sqlite");
      return { store: new SqliteUserStore(file), reopen: async () => new SqliteUserStore(file) };
    },
  ],
];
if (dynamoEndpoint) {
  stores.push([
    "dynamodb",
    async () => {
      const table = `mercury-users-${randomUUID().slice(0, 8)}`;
      const client = new DynamoDBClient({ region: "us-east-1", endpoint: dynamoEndpoint });
      // The same key schema as MercuryUsersTable in serverless.yml.
      await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: "pk", AttributeType: "S" },
            { AttributeName: "sk", AttributeType: "S" },
          ],
          KeySchema: [
            { AttributeName: "pk", KeyType: "HASH" },
            { AttributeName: "sk", KeyType: "RANGE" },
          ],
        }),
      );
      client.destroy();
      const open = async () => DynamoUserStore.open({ table, region: "us-east-1", endpoint: dynamoEndpoint });
      return { store: await open(), reopen: open };
    },
  ]);
}

afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

describe.each(stores)("Mercury user store on %s", (_name, make) => {
  it("keeps accounts across a reopen, with unique emails in any case and working passwords", async () => {
    // Prepare
    const { store, reopen } = await make();
    const admin = await store.create("Boss@Example.com", "a-long-password-1", "admin");
    await store.create("ops@example.com", "a-long-password-2", "viewer");
    await store.close();

    // Act
    const again = await reopen();
    const duplicate = await again
      .create("OPS@example.com", "another-password", "viewer")
      .catch((e: Error) => e);
    const right = await again.authenticate("boss@example.com", "a-long-password-1");
    const wrong = await again.authenticate("boss@example.com", "a-long-password-2");
    const unknown = await again.authenticate("nobody@example.com", "a-long-password-1");

    // Assess
    expect(duplicate).toEqual(new UserStoreError("An account with the email ops@example.com already exists"));
    expect(right).toEqual({ ...admin, email: "boss@example.com" });
    expect(wrong).toBeUndefined();
    expect(unknown).toBeUndefined();
    expect(await again.count()).toBe(2);
    expect((await again.list()).map((u) => [u.email, u.role])).toEqual([
      ["boss@example.com", "admin"],
      ["ops@example.com", "viewer"],
    ]);
    await again.close();
  }, 30_000);

  it("never removes the last admin, by demotion or deletion, and changes roles and passwords", async () => {
    // Prepare
    const { store } = await make();
    const first = await store.create("first@example.com", "a-long-password-1", "admin");
    const second = await store.create("second@example.com", "a-long-password-1", "viewer");

    // Act
    await store.setRole(second.id, "admin");
    await store.setRole(first.id, "viewer");
    const demoteLast = await store.setRole(second.id, "viewer").catch((e: Error) => e);
    const deleteLast = await store.delete(second.id).catch((e: Error) => e);
    const changed = await store.changePassword(first.id, "a-long-password-1", "a-new-password-12");
    const refused = await store.changePassword(first.id, "not-the-password", "x-new-password-12");

    // Assess
    expect(demoteLast).toEqual(new UserStoreError("The last admin cannot lose the role"));
    expect(deleteLast).toEqual(new UserStoreError("The last admin account cannot be deleted"));
    expect((await store.byId(second.id))?.role).toBe("admin");
    expect((await store.byId(first.id))?.role).toBe("viewer");
    expect(changed).toBe(true);
    expect(refused).toBe(false);
    expect(await store.authenticate("first@example.com", "a-new-password-12")).toMatchObject({
      id: first.id,
    });
    await store.delete(first.id);
    expect(await store.byId(first.id)).toBeUndefined();
    expect(await store.authenticate("first@example.com", "a-new-password-12")).toBeUndefined();
    // The email is free again once its account is gone.
    await expect(store.create("first@example.com", "a-long-password-1", "viewer")).resolves.toMatchObject({
      email: "first@example.com",
    });
    await store.close();
  }, 30_000);

  it("saves queries per user by name, replaces one of the same name, deletes them with the account", async () => {
    // Prepare
    const { store } = await make();
    await store.create("admin@example.org", "a-long-password-1", "admin");
    const ana = await store.create("ana@example.com", "a-long-password-1", "viewer");
    const bo = await store.create("bo@example.com", "a-long-password-1", "viewer");

    // Act
    const statuses = await store.saveQuery(ana.id, "statuses", "SELECT status FROM session_summary");
    await store.saveQuery(ana.id, "by day", "SELECT day FROM kpi_aggregates");
    const replaced = await store.saveQuery(ana.id, "statuses", "SELECT status, count() FROM session_summary");
    await store.saveQuery(bo.id, "mine", "SELECT 1");
    await store.deleteQuery(bo.id, statuses.id);
    const anas = await store.listQueries(ana.id);

    // Assess
    expect(replaced.id).toBe(statuses.id);
    expect(anas.map((q) => [q.name, q.sql])).toEqual([
      ["by day", "SELECT day FROM kpi_aggregates"],
      ["statuses", "SELECT status, count() FROM session_summary"],
    ]);
    expect((await store.listQueries(bo.id)).map((q) => q.name)).toEqual(["mine"]);
    await store.deleteQuery(ana.id, statuses.id);
    expect((await store.listQueries(ana.id)).map((q) => q.name)).toEqual(["by day"]);
    await store.delete(ana.id);
    expect(await store.listQueries(ana.id)).toEqual([]);
    await store.close();
  }, 30_000);
});
