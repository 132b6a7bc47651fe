import type { ChdbConnection } from "chdb/connection";

/**
 * Several chDB connections on one data folder, seen as one `@clickhouse/client` connection. chDB runs the
 * statements of a connection one at a time; statements on different connections of the same folder run side
 * by side on the same tables. Each call goes to the connection with the fewest statements running, so one
 * batch's small entity inserts no longer wait behind the next batch's large insert (docs/benchmarks.md).
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
      get(target, property, receiver) {
        if (property === "close") return () => pool.close();
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function" || !DISPATCHED.has(property)) return value;
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

/** The Connection methods that run a statement. */
const DISPATCHED = new Set<PropertyKey>(["query", "exec", "command", "insert", "ping"]);
