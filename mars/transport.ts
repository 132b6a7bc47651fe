import WebSocket from "ws";
import type { Protocol } from "./types.ts";

/** What a connection reports to the client that opened it. */
export interface ConnectionEvents {
  /** The server answered the WebSocket upgrade with an HTTP status instead (the socket is terminated). */
  upgradeRefused(status: number): void;
  open(): void;
  message(text: string): void;
  error(message: string): void;
  close(code: number, reason: string): void;
}

/**
 * Opens one WebSocket to Venus: v2 carries the API key in the `x-api-key` header of the upgrade, v1 sends
 * it in its first frame once open (the client does that). No compression, as devices send.
 */
export function openConnection(
  url: string,
  apiKey: string,
  protocol: Protocol,
  connectTimeoutMs: number,
  events: ConnectionEvents,
): WebSocket {
  const socket = new WebSocket(url, {
    headers: protocol === "v2" ? { "x-api-key": apiKey } : undefined,
    handshakeTimeout: connectTimeoutMs,
    perMessageDeflate: false,
  });
  socket.on("unexpected-response", (_request, response) => {
    const status = response.statusCode ?? 0;
    response.resume();
    events.upgradeRefused(status);
    socket.terminate();
  });
  socket.on("open", () => events.open());
  socket.on("message", (data) => events.message(String(data)));
  socket.on("error", (error) => events.error(error.message));
  socket.on("close", (code, reason) => events.close(code, String(reason)));
  return socket;
}

/** Closes normally (code 1000), or terminates a socket still connecting or not closed within 2 s. */
export function closeConnection(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      socket.terminate();
      resolve();
    }, 2000);
    socket.once("close", () => {
      clearTimeout(force);
      resolve();
    });
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, "Mars is done");
  });
}

/** Whether frames can be written to the socket now. */
export function isOpen(socket: WebSocket): boolean {
  return socket.readyState === WebSocket.OPEN;
}
