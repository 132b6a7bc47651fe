import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import {
  CLOSE_POLICY_VIOLATION,
  frameTooLargeMessage,
  MAX_FRAME_BYTES,
  type Venus,
} from "#functions/venus/ingest.ts";
import { v1Replies, v2Error } from "#functions/venus/replies.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import { eventLogCheck, HealthModel, healthResponse, presentsApiKey } from "#shared/health/index.ts";
import { logger } from "#shared/logging/index.ts";

/**
 * Venus on a plain Node server: the embedded default (`npm start`). WebSocket at `/ws` (and `/`, as API
 * Gateway and serverless offline accept any path), `GET /health` on the same port.
 *
 * Besides the protocol (in {@link Venus}), this front end guards the process against careless and hostile
 * clients: connection caps per address and in total, a time limit for a v1 client's authentication frame,
 * a reply to oversized frames before the close, and backpressure on clients that do not read their replies.
 */

const venusLines = logger("venus");

export interface VenusServer {
  readonly port: number;
  readonly url: string;
  /** Open WebSocket connections. */
  readonly connections: number;
  close(): Promise<void>;
}

/** The server's limits; see README "Configuration" for their variables and defaults. */
export interface VenusServerLimits {
  /** Open connections in total; more are refused with 503. */
  maxConnections: number;
  /** Open connections from one remote address; more are refused with 429. */
  maxConnectionsPerAddress: number;
  /** Time a v1 client has to send its authentication frame after connecting. */
  authTimeoutMs: number;
  /** Unsent reply bytes of a connection past which Venus stops reading its frames (until they drain). */
  replyBufferPauseBytes: number;
  /** Unsent reply bytes past which the connection is closed. */
  replyBufferCloseBytes: number;
  /** How long a connection may stay paused with its replies unread before it is closed. */
  replyStallCloseMs: number;
}

export const DEFAULT_SERVER_LIMITS: VenusServerLimits = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 1_000,
  authTimeoutMs: 10_000,
  replyBufferPauseBytes: 1024 * 1024,
  replyBufferCloseBytes: 8 * 1024 * 1024,
  replyStallCloseMs: 30_000,
};

export interface VenusServerOptions {
  venus: Venus;
  log: EventLog;
  host: string;
  port: number;
  limits?: Partial<VenusServerLimits>;
  /** The platform's health model (default: the event log alone). */
  health?: HealthModel;
  /** A `/health` caller presenting this key (x-api-key) also sees details: paths, addresses, errors. */
  apiKey?: string;
}

const WEBSOCKET_PATHS = new Set(["/ws", "/"]);

/** After a close frame, a client that does not answer the handshake is cut off this much later. */
const CLOSE_GRACE_MS = 5_000;

function refuseUpgrade(
  socket: Duplex,
  status: string,
  message: string,
  extraHeaders: Record<string, string> = {},
): void {
  const body = `${JSON.stringify({ status: "error", message })}\n`;
  const headers = Object.entries({
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(body)),
    ...extraHeaders,
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${status}\r\n${headers}\r\n${body}`);
}

function closeFirmly(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
  // A close reason is at most 123 bytes (RFC 6455 §5.5: control frames carry 125 bytes with the code).
  ws.close(
    code,
    Buffer.from(reason)
      .subarray(0, 123)
      .toString("utf8")
      .replace(/\uFFFD$/, ""),
  );
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

export async function startVenusServer(options: VenusServerOptions): Promise<VenusServer> {
  const { venus, log } = options;
  const limits: VenusServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const health = options.health ?? new HealthModel([eventLogCheck(log)]);
  const server = http.createServer(async (request, response) => {
    try {
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
    } catch (error) {
      venusLines.error(`${request.method} ${request.url} failed: ${(error as Error).message}`);
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "internal_error", message: "Venus could not answer; retry" }));
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const perAddress = new Map<string, number>();
  let open = 0;
  const release = (address: string) => {
    open -= 1;
    const left = (perAddress.get(address) ?? 1) - 1;
    if (left > 0) perAddress.set(address, left);
    else perAddress.delete(address);
  };

  const serve = (ws: WebSocket, connectionId: string, v1: boolean, address: string) => {
    /** Closes for a reason of this front end's own, and says so on the server's side. */
    const closeForPolicy = (reason: string) => {
      venusLines.warn(`closing connection ${connectionId} from ${address}: ${reason}`);
      closeFirmly(ws, CLOSE_POLICY_VIOLATION, reason);
    };
    // Replies go out in frame order even though appends of later frames may finish first.
    let replies: Promise<void> = Promise.resolve();
    let stallTimer: NodeJS.Timeout | undefined;
    const pause = () => {
      if (ws.isPaused) return;
      ws.pause();
      stallTimer = setTimeout(() => {
        closeForPolicy(`Replies not read for ${Math.round(limits.replyStallCloseMs / 1000)} s`);
      }, limits.replyStallCloseMs);
      stallTimer.unref();
    };
    const resume = () => {
      if (!ws.isPaused || ws.bufferedAmount > limits.replyBufferPauseBytes / 2) return;
      clearTimeout(stallTimer);
      ws.resume();
    };
    /** Sends a reply, and keeps the replies a client has not read within the limits. */
    const send = (reply: string) => {
      ws.send(reply, () => resume());
      if (ws.bufferedAmount > limits.replyBufferCloseBytes) {
        closeForPolicy(
          `Replies not read: ${ws.bufferedAmount} bytes unsent (limit ${limits.replyBufferCloseBytes})`,
        );
      } else if (ws.bufferedAmount > limits.replyBufferPauseBytes) {
        pause();
      }
    };
    const authTimer = v1
      ? setTimeout(() => {
          if (venus.isAuthenticated(connectionId) || ws.readyState !== ws.OPEN) return;
          const seconds = Math.round(limits.authTimeoutMs / 1000);
          const message = `Authentication timeout: no authentication frame within ${seconds} s`;
          send(v1Replies.authenticationRefused(message));
          closeForPolicy(message);
        }, limits.authTimeoutMs)
      : undefined;
    authTimer?.unref();

    // `ws` measures a frame from its header, before reading it, and closes the connection with 1009 (RFC 6455
    // §7.4.1: a message too big to process) when it is too large. This listener runs before that close, so the client gets a reply saying why first.
    const receiver = (ws as unknown as { _receiver: EventEmitter })._receiver;
    receiver.prependListener("error", (error: Error & { code?: string }) => {
      if (error.code !== "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" || ws.readyState !== ws.OPEN) return;
      const message = frameTooLargeMessage();
      ws.send(v1 ? v1Replies.rejected(message) : v2Error("frame_too_large", message));
    });

    ws.on("message", (data, isBinary) => {
      const frame = isBinary ? Buffer.from(data as Buffer).toString("utf8") : data.toString();
      const outcome = venus.receive(connectionId, frame);
      replies = replies
        .then(async () => {
          const { reply, close } = await outcome;
          if (ws.readyState !== ws.OPEN) return;
          send(reply);
          if (close) closeFirmly(ws, close.code, close.reason);
        })
        .catch((error: unknown) => {
          venusLines.error(`reply on connection ${connectionId} failed: ${(error as Error).message}`);
        });
    });
    ws.on("close", () => {
      clearTimeout(authTimer);
      clearTimeout(stallTimer);
      void replies
        .finally(() => venus.disconnect(connectionId))
        .catch((error: unknown) => {
          venusLines.error(`forgetting connection ${connectionId} failed: ${(error as Error).message}`);
        });
    });
    ws.on("error", () => ws.terminate());
  };

  server.on("upgrade", async (request, socket, head) => {
    const address = request.socket.remoteAddress ?? "";
    let counted = false;
    try {
      const url = new URL(request.url ?? "/", "http://localhost");
      if (!WEBSOCKET_PATHS.has(url.pathname)) {
        socket.end(
          "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nVenus serves WebSocket at /ws\n",
        );
        return;
      }
      if (open >= limits.maxConnections) {
        refuseUpgrade(socket, "503 Service Unavailable", "Too many connections; retry later", {
          "Retry-After": "5",
        });
        return;
      }
      if ((perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress) {
        const message = `Too many connections from this address (limit ${limits.maxConnectionsPerAddress})`;
        refuseUpgrade(socket, "429 Too Many Requests", message, { "Retry-After": "5" });
        return;
      }
      open += 1;
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      counted = true;
      const connectionId = randomUUID();
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]),
      );
      const outcome = await venus.connect({
        connectionId,
        headers,
        query: Object.fromEntries(url.searchParams),
        sourceIp: address,
      });
      if (!outcome.accepted) {
        release(address);
        counted = false;
        const status = outcome.statusCode === 429 ? "429 Too Many Requests" : "401 Unauthorized";
        const retry: Record<string, string> =
          outcome.retryAfterSeconds === undefined ? {} : { "Retry-After": String(outcome.retryAfterSeconds) };
        refuseUpgrade(socket, status, outcome.message, retry);
        return;
      }
      const v1 = !venus.isAuthenticated(connectionId);
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.once("close", () => release(address));
        serve(ws, connectionId, v1, address);
      });
    } catch (error) {
      if (counted) release(address);
      venusLines.error(`a connection from ${address} failed to open: ${(error as Error).message}`);
      if (!socket.destroyed)
        refuseUpgrade(socket, "503 Service Unavailable", "Venus could not open the connection; retry");
    }
  });
  // A client that resets its TCP connection mid-request must not become an unhandled 'error'.
  server.on("clientError", (_error, socket: Socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === "0.0.0.0" || options.host === "::" ? "localhost" : options.host;
  return {
    port,
    url: `ws://${shownHost}:${port}/ws`,
    get connections() {
      return open;
    },
    async close() {
      for (const client of wss.clients) client.close(1001, "Venus is shutting down");
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
