import { randomUUID } from "node:crypto";
import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { hashPassword, verifyPassword } from "./passwords.ts";
import {
  checkPassword,
  emailTaken,
  LAST_ADMIN_DELETE,
  LAST_ADMIN_ROLE,
  MAX_SAVED_QUERIES,
  type MercuryUser,
  type Role,
  type SavedQuery,
  tooManyQueries,
  type UserStore,
  UserStoreError,
} from "./users.ts";

/**
 * Mercury's accounts in one DynamoDB table (key `pk`, `sk`; serverless.yml's MercuryUsersTable), for Mercury on
 * Lambda, where no container keeps a file. Items:
 *   USER#<id>    / PROFILE      the account (email, role, password hash)
 *   EMAIL#<email>/ EMAIL        the email's owner: created in the same transaction, so emails stay unique
 *   USER#<id>    / QUERY#<id>   a saved query
 *   META         / ADMINS       how many admins there are: a demotion or deletion that would take it below
 *                               one fails its condition, so two admins removing each other cannot both succeed
 */

const ADMINS = { pk: "META", sk: "ADMINS" } as const;
const userKey = (id: string) => ({ pk: `USER#${id}`, sk: "PROFILE" });
const emailKey = (email: string) => ({ pk: `EMAIL#${email}`, sk: "EMAIL" });

interface ProfileItem {
  pk: string;
  sk: string;
  id: string;
  email: string;
  role: Role;
  passwordHash: string;
  createdAt: string;
}

const toUser = (p: ProfileItem): MercuryUser => ({
  id: p.id,
  email: p.email,
  role: p.role,
  createdAt: p.createdAt,
});

/** Which items of a cancelled transaction failed their condition. */
function failedConditions(error: unknown): boolean[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((reason) => reason.Code === "ConditionalCheckFailed");
}

export class DynamoUserStore implements UserStore {
  private constructor(
    private readonly table: string,
    private readonly doc: DynamoDBDocumentClient,
  ) {}

  static open(options: { table: string; region: string; endpoint?: string }): DynamoUserStore {
    const client = new DynamoDBClient({ region: options.region, endpoint: options.endpoint });
    return new DynamoUserStore(options.table, DynamoDBDocumentClient.from(client));
  }

  private async profile(id: string): Promise<ProfileItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: userKey(id), ConsistentRead: true }),
    );
    return Item as ProfileItem | undefined;
  }

  private async profiles(): Promise<ProfileItem[]> {
    const items: ProfileItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: "sk = :profile",
          ExpressionAttributeValues: { ":profile": "PROFILE" },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...((page.Items ?? []) as ProfileItem[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async count(): Promise<number> {
    return (await this.profiles()).length;
  }

  async list(): Promise<MercuryUser[]> {
    return (await this.profiles()).map(toUser).sort((a, b) => a.email.localeCompare(b.email));
  }

  async byId(id: string): Promise<MercuryUser | undefined> {
    const item = await this.profile(id);
    return item && toUser(item);
  }

  async create(email: string, password: string, role: Role): Promise<MercuryUser> {
    const passwordHash = await hashPassword(password);
    const user = { id: randomUUID(), email: email.toLowerCase(), role, createdAt: new Date().toISOString() };
    const absent = "attribute_not_exists(pk)";
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { ...emailKey(user.email), userId: user.id },
                ConditionExpression: absent,
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { ...userKey(user.id), ...user, passwordHash },
                ConditionExpression: absent,
              },
            },
            ...(role === "admin" ? [this.adminsChange(1)] : []),
          ],
        }),
      );
    } catch (error) {
      if (failedConditions(error)?.[0]) throw emailTaken(user.email, error);
      throw error;
    }
    return user;
  }

  async authenticate(email: string, password: string): Promise<MercuryUser | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: emailKey(email.toLowerCase()), ConsistentRead: true }),
    );
    const profile = Item ? await this.profile(String(Item.userId)) : undefined;
    return checkPassword(profile && { user: toUser(profile), hash: profile.passwordHash }, password);
  }

  async changePassword(id: string, current: string, next: string): Promise<boolean> {
    const profile = await this.profile(id);
    if (!profile || !(await verifyPassword(current, profile.passwordHash))) return false;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: userKey(id),
        UpdateExpression: "SET passwordHash = :hash",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":hash": await hashPassword(next) },
      }),
    );
    return true;
  }

  /** The admins counter moved by `delta`; a decrease fails (ConditionalCheckFailed) at the last admin. */
  private adminsChange(delta: 1 | -1) {
    return {
      Update: {
        TableName: this.table,
        Key: ADMINS,
        UpdateExpression: "ADD admins :delta",
        ...(delta < 0
          ? { ConditionExpression: "admins > :one", ExpressionAttributeValues: { ":delta": -1, ":one": 1 } }
          : { ExpressionAttributeValues: { ":delta": 1 } }),
      },
    };
  }

  async setRole(id: string, role: Role): Promise<void> {
    const profile = await this.profile(id);
    if (!profile || profile.role === role) return;
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: userKey(id),
                UpdateExpression: "SET #role = :role",
                ConditionExpression: "#role = :before",
                ExpressionAttributeNames: { "#role": "role" },
                ExpressionAttributeValues: { ":role": role, ":before": profile.role },
              },
            },
            this.adminsChange(role === "admin" ? 1 : -1),
          ],
        }),
      );
    } catch (error) {
      if (failedConditions(error)?.[1]) throw new UserStoreError(LAST_ADMIN_ROLE, { cause: error });
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    const profile = await this.profile(id);
    if (!profile) return;
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: { TableName: this.table, Key: userKey(id) } },
            { Delete: { TableName: this.table, Key: emailKey(profile.email) } },
            ...(profile.role === "admin" ? [this.adminsChange(-1)] : []),
          ],
        }),
      );
    } catch (error) {
      if (failedConditions(error)?.[2]) throw new UserStoreError(LAST_ADMIN_DELETE, { cause: error });
      throw error;
    }
    for (const query of await this.listQueries(id)) await this.deleteQuery(id, query.id);
  }

  async listQueries(userId: string): Promise<SavedQuery[]> {
    const queries: SavedQuery[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :query)",
          ExpressionAttributeValues: { ":pk": `USER#${userId}`, ":query": "QUERY#" },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) {
        queries.push({
          id: String(item.id),
          name: String(item.name),
          sql: String(item.sql),
          updatedAt: String(item.updatedAt),
        });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return queries.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
  }

  async saveQuery(userId: string, name: string, sql: string): Promise<SavedQuery> {
    const existing = await this.listQueries(userId);
    const same = existing.find((q) => q.name === name);
    if (!same && existing.length >= MAX_SAVED_QUERIES) throw tooManyQueries();
    const query = { id: same?.id ?? randomUUID(), name, sql, updatedAt: new Date().toISOString() };
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `USER#${userId}`, sk: `QUERY#${query.id}`, ...query },
      }),
    );
    return query;
  }

  async deleteQuery(userId: string, queryId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: `USER#${userId}`, sk: `QUERY#${queryId}` } }),
    );
  }

  async close(): Promise<void> {
    this.doc.destroy();
  }
}
