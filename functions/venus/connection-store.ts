import fs from "node:fs";
import path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type Database from "better-sqlite3";

/**
 * Connection state that must outlive one Lambda invocation: API Gateway routes each frame of a WebSocket
 * connection to whichever instance is free, so nothing about a connection may live only in memory.
 */
export interface ConnectionState {
  connectionId: string;
  /** `true` once the API key was checked, at connect (v2) or by the first frame (v1). */
  authenticated: boolean;
  /** How the connection authenticated: the original frame handshake (`v1`) or a key at connect (`v2`). */
  protocol: "v1" | "v2";
  connectedAt: number;
  sourceIp: string;
}

export interface ConnectionStore {
  get(connectionId: string): Promise<ConnectionState | undefined>;
  put(state: ConnectionState): Promise<void>;
  delete(connectionId: string): Promise<void>;
  close(): Promise<void>;
}

interface ConnectionRow {
  connection_id: string;
  authenticated: number;
  protocol: "v1" | "v2";
  connected_at: number;
  source_ip: string;
}

/** Connection state in a SQLite file of the data folder: shared by every process and worker on the machine. */
export class SqliteConnectionStore implements ConnectionStore {
  readonly #db: Database.Database;
  readonly #select: Database.Statement<[string], ConnectionRow>;
  readonly #upsert: Database.Statement<[string, number, string, number, string]>;
  readonly #remove: Database.Statement<[string]>;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    db.exec(`CREATE TABLE IF NOT EXISTS venus_connections (
      connection_id TEXT PRIMARY KEY,
      authenticated INTEGER NOT NULL,
      protocol TEXT NOT NULL,
      connected_at INTEGER NOT NULL,
      source_ip TEXT NOT NULL
    )`);
    this.#select = db.prepare("SELECT * FROM venus_connections WHERE connection_id = ?");
    this.#upsert = db.prepare(
      `INSERT INTO venus_connections (connection_id, authenticated, protocol, connected_at, source_ip)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(connection_id) DO UPDATE SET authenticated = excluded.authenticated, protocol = excluded.protocol`,
    );
    this.#remove = db.prepare("DELETE FROM venus_connections WHERE connection_id = ?");
  }

  static async open(file: string): Promise<SqliteConnectionStore> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { default: BetterSqlite } = await import("better-sqlite3");
    return new SqliteConnectionStore(new BetterSqlite(file));
  }

  async get(connectionId: string): Promise<ConnectionState | undefined> {
    const row = this.#select.get(connectionId);
    return row
      ? {
          connectionId: row.connection_id,
          authenticated: row.authenticated === 1,
          protocol: row.protocol,
          connectedAt: row.connected_at,
          sourceIp: row.source_ip,
        }
      : undefined;
  }

  async put(state: ConnectionState): Promise<void> {
    this.#upsert.run(
      state.connectionId,
      state.authenticated ? 1 : 0,
      state.protocol,
      state.connectedAt,
      state.sourceIp,
    );
  }

  async delete(connectionId: string): Promise<void> {
    this.#remove.run(connectionId);
  }

  /**
   * Removes every row: called by the process that owns the data folder (`npm start`, which holds its lock)
   * at start, when no connection can be open yet, so rows left by a killed process do not pile up.
   * Returns how many rows were removed.
   */
  clearAll(): number {
    return this.#db.prepare("DELETE FROM venus_connections").run().changes;
  }

  count(): number {
    return this.#db.prepare<[], number>("SELECT count(*) FROM venus_connections").pluck().get() ?? 0;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}

/** Connection state in DynamoDB, for the deployed API Gateway WebSocket API. Items expire after a day. */
export class DynamoConnectionStore implements ConnectionStore {
  static readonly TTL_SECONDS = 24 * 3600;

  private constructor(
    private readonly table: string,
    private readonly doc: DynamoDBDocumentClient,
  ) {}

  static async open(options: {
    table: string;
    region: string;
    endpoint?: string;
  }): Promise<DynamoConnectionStore> {
    const client = new DynamoDBClient({ region: options.region, endpoint: options.endpoint });
    return new DynamoConnectionStore(options.table, DynamoDBDocumentClient.from(client));
  }

  async get(connectionId: string): Promise<ConnectionState | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { connectionId }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return {
      connectionId,
      authenticated: Item.authenticated === true,
      protocol: Item.protocol === "v2" ? "v2" : "v1",
      connectedAt: Number(Item.connectedAt),
      sourceIp: String(Item.sourceIp ?? ""),
    };
  }

  async put(state: ConnectionState): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...state, expiresAt: Math.floor(Date.now() / 1000) + DynamoConnectionStore.TTL_SECONDS },
      }),
    );
  }

  async delete(connectionId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { connectionId } }));
  }

  async close(): Promise<void> {
    this.doc.destroy();
  }
}
