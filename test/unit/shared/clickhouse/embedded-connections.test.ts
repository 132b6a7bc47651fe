import { Readable } from "node:stream";
import type { ChdbConnection } from "chdb/connection";
import { describe, expect, it } from "vitest";
import { EmbeddedConnections } from "#shared/clickhouse/embedded.ts";

/**
 * The dispatch of EmbeddedConnections, on stand-ins that record what ran where and finish when told to
 * (the real connections are exercised by test/integration/functions/jupiter/silver.test.ts).
 */
function standIn(name: string, log: string[]) {
  const pending: (() => void)[] = [];
  const statement = (kind: string) => (params: { query: string }) =>
    new Promise<string>((resolve) => {
      log.push(`${name} ${kind} ${params.query}`);
      pending.push(() => resolve(`${name}:${params.query}`));
    });
  const connection = {
    connectionName: name,
    query: statement("query"),
    command: statement("command"),
    insert: statement("insert"),
    exec: statement("exec"),
    ping: statement("ping"),
    raw: [] as unknown[],
    chdb: {
      async rawInsert(params: { values: Buffer }) {
        connection.raw.push({ ...params, values: params.values.toString() });
        return { rowsWritten: 2, bytesWritten: 10, bytesSent: 10, elapsed: 0.5 };
      },
    },
    closed: false,
    async close() {
      connection.closed = true;
      log.push(`${name} close`);
    },
  };
  return {
    connection,
    finishAll: () => {
      for (const finish of pending.splice(0)) finish();
    },
  };
}

describe("embedded connections", () => {
  it("sends each statement to the connection with the fewest running, the first on a tie", async () => {
    // Prepare
    const log: string[] = [];
    const a = standIn("a", log);
    const b = standIn("b", log);
    const pool = new EmbeddedConnections([a.connection, b.connection] as unknown as ChdbConnection[]);
    const connection = pool.asConnection();

    // Act: two at once, then one more while both run, then one after they finished.
    const first = connection.query({ query: "1" } as never);
    const second = connection.insert({ query: "2" } as never);
    const third = connection.command({ query: "3" } as never);
    a.finishAll();
    b.finishAll();
    const results = await Promise.all([first, second, third]);
    const fourth = connection.exec({ query: "4" } as never);
    a.finishAll();

    // Assess
    expect(log).toEqual(["a query 1", "b insert 2", "a command 3", "a exec 4"]);
    expect(results).toEqual(["a:1", "b:2", "a:3"]);
    expect(await fourth).toBe("a:4");
    expect(connection.connectionName).toBe("a");
  });

  it("hands inserts of text formats to chDB as bytes, with their settings in the statement", async () => {
    // Prepare
    const log: string[] = [];
    const a = standIn("a", log);
    const connection = new EmbeddedConnections([a.connection] as unknown as ChdbConnection[]).asConnection();

    // Act
    const result = await connection.insert({
      query: "INSERT INTO silver.session_positions (event_id, lat) FORMAT CSV",
      values: Readable.from([Buffer.from('"e1",1\n'), Buffer.from('"e2",2\n')], { objectMode: false }),
      clickhouse_settings: {
        insert_deduplication_token: "t-1",
        wait_end_of_query: 1,
        async_insert: undefined,
      },
    } as never);
    const plain = connection.insert({
      query: "INSERT INTO t FORMAT Parquet",
      values: Readable.from([]),
    } as never);
    a.finishAll();
    await plain;

    // Assess
    expect(a.connection.raw).toEqual([
      {
        table: "silver.session_positions",
        columns: ["event_id", "lat"],
        format: "CSV",
        values: '"e1",1\n"e2",2\n',
        settings: { insert_deduplication_token: "t-1" },
      },
    ]);
    expect(result.summary?.written_rows).toBe("2");
    expect(log).toEqual(["a insert INSERT INTO t FORMAT Parquet"]);
  });

  it("closes every connection when the client closes", async () => {
    const log: string[] = [];
    const a = standIn("a", log);
    const b = standIn("b", log);
    await new EmbeddedConnections([a.connection, b.connection] as unknown as ChdbConnection[])
      .asConnection()
      .close();
    expect([a.connection.closed, b.connection.closed]).toEqual([true, true]);
  });

  it("reads the first connection's own properties on the connection itself (private fields work)", () => {
    class WithPrivate {
      #name = "first";
      get serverName() {
        return this.#name;
      }
      describe() {
        return `connection ${this.#name}`;
      }
    }
    const connection = new EmbeddedConnections([
      new WithPrivate(),
      new WithPrivate(),
    ] as unknown as ChdbConnection[]).asConnection() as unknown as WithPrivate;
    expect(connection.serverName).toBe("first");
    expect(connection.describe()).toBe("connection first");
  });

  it("needs at least one connection", () => {
    expect(() => new EmbeddedConnections([])).toThrow(/at least one connection/);
  });
});
