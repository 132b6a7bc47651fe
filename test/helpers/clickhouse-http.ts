import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { openClickHouse } from "#shared/clickhouse/index.ts";

/**
 * A ClickHouse HTTP endpoint over embedded chDB, for tests where several processes must share one
 * ClickHouse (no ClickHouse server can be had on this machine; see shared/design/ARCHITECTURE.md). It
 * speaks the part of ClickHouse's HTTP interface that @clickhouse/client uses: the statement in the body
 * (or in `query` with the data in the body, for inserts), `param_*` query parameters, `/ping`, and errors
 * as HTTP 500 with ClickHouse's own message. Statements of different requests run side by side on the
 * embedded store's connections, so concurrent clients interleave as they would on a server.
 */

export interface ClickHouseHttp {
  url: string;
  close(): Promise<void>;
}

export async function startClickHouseHttp(path: string, database = "packetpulse"): Promise<ClickHouseHttp> {
  const clickhouse = await openClickHouse({ backend: "embedded", path, database });
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname === "/ping") {
      response.end("Ok.\n");
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const queryParams: Record<string, string | null> = {};
    // Statement settings of the request are left out: the store has the same ones (settings.ts) set already.
    for (const [name, value] of url.searchParams) {
      // The client sends a NULL parameter as \N, which a server reads as NULL and chDB's binding does not.
      if (name.startsWith("param_"))
        queryParams[name.slice("param_".length)] = value === "\\N" ? null : value;
    }
    const inUrl = url.searchParams.get("query");
    try {
      const result =
        inUrl && body.length > 0
          ? await clickhouse.exec({ query: inUrl, values: Readable.from([body]), query_params: queryParams })
          : await clickhouse.exec({
              query: [inUrl, body.toString("utf8")].filter(Boolean).join("\n"),
              query_params: queryParams,
            });
      response.writeHead(200, { "content-type": "text/plain; charset=UTF-8" });
      for await (const chunk of result.stream) response.write(chunk);
      response.end();
    } catch (error) {
      const message = (error as Error).message;
      const code = /Code: (\d+)/.exec(message)?.[1] ?? "1002";
      response.writeHead(500, { "x-clickhouse-exception-code": code });
      response.end(message.startsWith("Code:") ? message : `Code: ${code}. DB::Exception: ${message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clickhouse.close();
    },
  };
}
