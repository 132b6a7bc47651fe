import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { validateV1, validateV2, validateV2BatchFrame } from "#shared/events/index.ts";

/**
 * A small stand-in for Venus that speaks both protocols as docs/events.md describes them, records
 * every frame it receives, and can misbehave on request (drop the connection, stay silent, refuse keys).
 */

export interface ReceivedFrame {
  text: string;
  /** 1 for the first connection, 2 for the second... */
  connection: number;
  /** Position among the frames of its connection, from 0 (the v1 authentication frame is 0). */
  index: number;
  receivedAtMs: number;
}

export type FrameVerdict = "reply" | "silent" | "drop";

export interface FakeVenusOptions {
  protocol: "v1" | "v2";
  apiKey?: string;
  /** Decides what happens to each data frame (not the v1 authentication frame). */
  onFrame?: (frame: ReceivedFrame) => FrameVerdict;
  /** Sent before the real reply to each data frame (noise a client must ignore). */
  junkBeforeReply?: (frame: ReceivedFrame) => string[];
}

export interface FakeVenus {
  url: string;
  frames: ReceivedFrame[];
  /** Data frames only (no v1 authentication frames). */
  dataFrames(): ReceivedFrame[];
  connections: number;
  upgradeAttempts: number;
  close(): Promise<void>;
}

export const TEST_API_KEY = "test-key-123";

export async function startFakeVenus(options: FakeVenusOptions): Promise<FakeVenus> {
  const apiKey = options.apiKey ?? TEST_API_KEY;
  const state: FakeVenus = {
    url: "",
    frames: [],
    dataFrames: () => state.frames.filter((f) => !f.text.includes('"type":"authentication"')),
    connections: 0,
    upgradeAttempts: 0,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    path: "/ws",
    verifyClient: (info, done) => {
      state.upgradeAttempts++;
      if (options.protocol === "v2" && info.req.headers["x-api-key"] !== apiKey)
        done(false, 401, "Unauthorized");
      else done(true);
    },
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  state.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;

  server.on("connection", (socket: WebSocket) => {
    state.connections++;
    const connection = state.connections;
    let index = 0;
    let authenticated = options.protocol === "v2";
    let dropped = false;
    socket.on("message", (data) => {
      if (dropped) return;
      const frame: ReceivedFrame = {
        text: String(data),
        connection,
        index: index++,
        receivedAtMs: Date.now(),
      };
      state.frames.push(frame);
      if (!authenticated) {
        const auth = safeParse(frame.text) as { type?: string; api_key?: string } | undefined;
        if (auth?.type === "authentication" && auth.api_key === apiKey) {
          authenticated = true;
          socket.send(JSON.stringify({ status: "authenticated", message: "Authentication successful" }));
        } else {
          socket.send(JSON.stringify({ status: "error", message: "Authentication failed: invalid API key" }));
          socket.close(1008, "Authentication failed: invalid API key");
        }
        return;
      }
      const verdict = options.onFrame?.(frame) ?? "reply";
      if (verdict === "drop") {
        dropped = true;
        socket.terminate();
        return;
      }
      if (verdict === "silent") return;
      for (const junk of options.junkBeforeReply?.(frame) ?? []) socket.send(junk);
      socket.send(options.protocol === "v1" ? v1Reply(frame.text) : v2Reply(frame.text));
    });
  });
  return state;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function v1Reply(text: string): string {
  const message = safeParse(text);
  if (message === undefined) return JSON.stringify({ success: false, message: "Invalid JSON" });
  const result = validateV1(message);
  return JSON.stringify(
    result.ok
      ? { success: true, message: "Data received" }
      : { success: false, message: `Invalid data: ${result.issues.map((i) => i.message).join("; ")}` },
  );
}

function v2Reply(text: string): string {
  const frame = safeParse(text) as { type?: string; batch_id?: string; events?: unknown[] } | undefined;
  if (frame === undefined)
    return JSON.stringify({ type: "error", error: "malformed_json", message: "Invalid JSON" });
  if (!validateV2BatchFrame(frame).ok || !Array.isArray(frame.events)) {
    return JSON.stringify({
      type: "error",
      error: "invalid_frame",
      message: "Invalid batch",
      batch_id: frame.batch_id,
    });
  }
  const results = frame.events.map((event) => {
    const result = validateV2(event);
    return result.ok ? { ok: true } : { ok: false, errors: result.issues };
  });
  const accepted = results.filter((r) => r.ok).length;
  return JSON.stringify({
    type: "ack",
    batch_id: frame.batch_id,
    accepted,
    rejected: results.length - accepted,
    results,
  });
}

/** A local URL where nothing listens (the port was free a moment ago). */
export async function closedUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `ws://127.0.0.1:${port}/ws`;
}
