import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { eventLogCheck, HealthModel, healthResponse, presentsApiKey } from "#shared/health/index.ts";
import type { EventLog } from "#shared/log/types.ts";
import { MAX_FRAME_BYTES, type Venus } from "./ingest.ts";

/**
 * Venus on a plain Node server: the embedded default (`npm start`). WebSocket at `/ws` (and `/`, as API
 * Gateway and serverless offline accept any path), `GET /health` on the same port.
 */

export interface VenusServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export interface VenusServerOptions {
  venus: Venus;
  log: EventLog;
  host: string;
  port: number;
  /** The platform's health model (default: the event log alone). */
  health?: HealthModel;
  /** A `/health` caller presenting this key (x-api-key) also sees details: paths, addresses, errors. */
  apiKey?: string;
}

const WEBSOCKET_PATHS = new Set(["/ws", "/"]);

export async function startVenusServer(options: VenusServerOptions): Promise<VenusServer> {
  const { venus, log } = options;
  const health = options.health ?? new HealthModel([eventLogCheck(log)]);
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method === "GET" && url.pathname === "/health") {
      const key = request.headers["x-api-key"];
      const authenticated =
        options.apiKey !== undefined &&
        presentsApiKey({ "x-api-key": Array.isArray(key) ? key[0] : key }, options.apiKey);
      const { statusCode, body } = await healthResponse(health, authenticated);
      response.writeHead(statusCode, { "content-type": "application/json" });
      response.end(body);
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(
      JSON.stringify({ error: "not_found", message: "Venus serves WebSocket at /ws and GET /health" }),
    );
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  server.on("upgrade", async (request, socket, head) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (!WEBSOCKET_PATHS.has(url.pathname)) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nVenus serves WebSocket at /ws\n");
      return;
    }
    const connectionId = randomUUID();
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]),
    );
    const outcome = await venus.connect({
      connectionId,
      headers,
      query: Object.fromEntries(url.searchParams),
      sourceIp: request.socket.remoteAddress ?? "",
    });
    if (!outcome.accepted) {
      const body = `${JSON.stringify({ status: "error", message: outcome.message })}\n`;
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      // Replies go out in frame order even though appends of later frames may finish first.
      let replies: Promise<void> = Promise.resolve();
      ws.on("message", (data, isBinary) => {
        const frame = isBinary ? Buffer.from(data as Buffer).toString("utf8") : data.toString();
        const outcome = venus.receive(connectionId, frame);
        replies = replies.then(async () => {
          const { reply, close } = await outcome;
          if (ws.readyState !== ws.OPEN) return;
          ws.send(reply);
          if (close) ws.close(close.code, close.reason);
        });
      });
      ws.on("close", () => {
        void replies.finally(() => venus.disconnect(connectionId));
      });
      ws.on("error", () => ws.terminate());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === "0.0.0.0" ? "localhost" : options.host;
  return {
    port,
    url: `ws://${shownHost}:${port}/ws`,
    async close() {
      for (const client of wss.clients) client.close(1001, "Venus is shutting down");
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
