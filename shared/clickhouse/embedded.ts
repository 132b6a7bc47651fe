import { randomUUID } from "node:crypto";
import type { ChdbConnection } from "chdb/connection";

type InsertParams = Parameters<ChdbConnection["insert"]>[0];
type InsertResult = Awaited<ReturnType<ChdbConnection["insert"]>>;
type RawFormat = Parameters<ChdbConnection["chdb"]["rawInsert"]>[0]["format"];

/** `@clickhouse/client`'s insert statement: `INSERT INTO <table>[ (<columns>)] FORMAT <format>`. */
const INSERT_STATEMENT =
  /^INSERT INTO ([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(?: \(([A-Za-z0-9_, ]+)\))? FORMAT (\w+)$/;
/** The formats chDB takes as raw bytes (its RawInsertFormat). */
const RAW_FORMATS = new Set(["JSONEachRow", "JSONCompactEachRow", "CSV", "CSVWithNames", "TabSeparated"]);
/** Settings of the HTTP layer that the embedded engine does not have (chDB's connection drops them too). */
const HTTP_ONLY = new Set(["wait_end_of_query", "send_progress_in_http_headers", "enable_http_compression"]);

/** An insert's values as one byte string: Buffers kept as they are (one is not copied), text as UTF-8. */
async function payloadOf(values: InsertParams["values"]): Promise<Buffer> {
  if (typeof values === "string") return Buffer.from(values, "utf8");
  const parts: Buffer[] = [];
  for await (const chunk of values as AsyncIterable<unknown>) {
    if (Buffer.isBuffer(chunk)) parts.push(chunk);
    else if (chunk instanceof Uint8Array)
      parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    else parts.push(Buffer.from(String(chunk), "utf8"));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * An insert of a text format handed to chDB as bytes (`rawInsert`) with its settings in the statement's
 * SETTINGS clause: chDB's plain insert decodes the bytes into a JavaScript string, joins it to the
 * statement and has the string encoded back, and applies the settings as session SETs. Anything else (a
 * binary format, an unusual column list) takes the plain insert.
 */
async function insertRaw(connection: ChdbConnection, params: InsertParams): Promise<InsertResult> {
  const statement = INSERT_STATEMENT.exec(params.query.trim());
  if (statement === null || !RAW_FORMATS.has(statement[3]!)) return connection.insert(params);
  const [, table, columns, format] = statement;
  const settings: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(params.clickhouse_settings ?? {})) {
    if (value !== undefined && !HTTP_ONLY.has(name)) settings[name] = value as string | number | boolean;
  }
  const values = await payloadOf(params.values);
  const query_id = params.query_id ?? randomUUID();
  const summary = await connection.chdb.rawInsert({
    table: table!,
    columns: columns?.split(", "),
    format: format as RawFormat,
    values,
    settings,
  });
  const written = String(summary.rowsWritten);
  const bytes = String(summary.bytesWritten);
  return {
    query_id,
    response_headers: {},
    http_status_code: 200,
    summary: {
      read_rows: written,
      read_bytes: bytes,
      written_rows: written,
      written_bytes: bytes,
      result_rows: "0",
      result_bytes: "0",
      total_rows_to_read: "0",
      elapsed_ns: String(Math.round(summary.elapsed * 1e9)),
    },
  };
}

/**
 * Several chDB connections on one data folder, seen as one `@clickhouse/client` connection. chDB runs the
 * statements of a connection one at a time; statements on different connections of the same folder run side
 * by side on the same tables. Each call goes to the connection with the fewest statements running, so one
 * batch's small entity inserts no longer wait behind the next batch's large insert (docs/benchmarks.md).
 *
 * Inserts of text formats go to chDB as bytes (see {@link insertRaw}).
 *
 * Connections share the tables but not their session: what a statement sets with SET (chDB applies a
 * query's settings that way) stays on its own connection. Session defaults are therefore given to every
 * connection through {@link EmbeddedConnections.forEach}, and nothing may rely on session state (a
 * temporary table, a setting) surviving from one call to the next.
 */
export class EmbeddedConnections {
  private readonly running: number[];

  constructor(private readonly connections: readonly ChdbConnection[]) {
    if (connections.length === 0) throw new Error("EmbeddedConnections needs at least one connection");
    this.running = connections.map(() => 0);
  }

  /** The connection `@clickhouse/client` talks to: every method picks one of the pool's connections. */
  asConnection(): ChdbConnection {
    const pool = this;
    const first = this.connections[0]!;
    return new Proxy(first, {
      get(target, property) {
        if (property === "close") return () => pool.close();
        if (property === "insert") {
          return (params: InsertParams) => pool.run((connection) => insertRaw(connection, params));
        }
        // Read on the connection itself: its getters and methods use private fields a proxy does not have.
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (!DISPATCHED.has(property)) return value.bind(target);
        return (...args: unknown[]) =>
          pool.run(
            (connection) =>
              Reflect.apply(Reflect.get(connection, property), connection, args) as Promise<unknown>,
          );
      },
    });
  }

  /** Runs `call` on every connection (session settings, `USE`), one after the other. */
  async forEach(call: (connection: ChdbConnection) => Promise<unknown>): Promise<void> {
    for (const connection of this.connections) await call(connection);
  }

  private async run<T>(call: (connection: ChdbConnection) => Promise<T>): Promise<T> {
    let pick = 0;
    for (let i = 1; i < this.running.length; i++) if (this.running[i]! < this.running[pick]!) pick = i;
    this.running[pick]!++;
    try {
      return await call(this.connections[pick]!);
    } finally {
      this.running[pick]!--;
    }
  }

  async close(): Promise<void> {
    for (const connection of [...this.connections].reverse()) await connection.close();
  }
}

/** The Connection methods that run a statement (inserts have their own path). */
const DISPATCHED = new Set<PropertyKey>(["query", "exec", "command", "ping"]);
