import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { openVenusRuntime, type VenusRuntime } from "#functions/venus/runtime.ts";
import { startVenusServer, type VenusServer } from "#host/venus-server.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import type { ConsumedRecord, EventLog } from "#shared/event-log/types.ts";
import { kafkaBrokers } from "./kafka.ts";

export type BackendName = "embedded" | "kafka";

/** The event log backends this run can test: the embedded log always, Kafka when a broker is configured. */
export function logBackends(): BackendName[] {
  return kafkaBrokers() ? ["embedded", "kafka"] : ["embedded"];
}

/** Environment of an isolated platform: its own data folder and, on Kafka, its own topics. */
export function isolatedEnv(
  backend: BackendName,
  extra: Record<string, string> = {},
): Record<string, string> {
  const suffix = randomUUID().slice(0, 8);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-test-"));
  const env: Record<string, string> = {
    PACKETPULSE_DATA_DIR: dataDir,
    API_KEY: "test-api-key-123",
    KAFKA_PARTITIONS: "3",
    ...extra,
  };
  // Tests of the embedded default must not pick up a broker from the surrounding environment (CI sets one).
  env.PACKETPULSE_EVENT_LOG = backend;
  if (backend === "kafka") {
    env.KAFKA_BOOTSTRAP_SERVERS = kafkaBrokers()!.join(",");
    env.KAFKA_TOPIC = `sessions-${suffix}`;
    env.KAFKA_DLQ_TOPIC = `sessions-dlq-${suffix}`;
  }
  return env;
}

export interface TestPlatform {
  config: PacketPulseConfig;
  env: Record<string, string>;
  log: EventLog;
  runtime: VenusRuntime;
  server: VenusServer;
  url: string;
  httpUrl: string;
  close(): Promise<void>;
}

/** Venus on an ephemeral port over the chosen backend, as `npm start` runs it. */
export async function startTestPlatform(
  backend: BackendName,
  extra: Record<string, string> = {},
): Promise<TestPlatform> {
  const env = isolatedEnv(backend, extra);
  const config = loadConfig(env);
  const log = await openEventLog(config);
  const runtime = await openVenusRuntime(config, { log });
  const server = await startVenusServer({ venus: runtime.venus, log, host: "127.0.0.1", port: 0 });
  return {
    config,
    env,
    log,
    runtime,
    server,
    url: server.url,
    httpUrl: `http://127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      await runtime.close();
      await log.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Every record of a topic, read by a fresh consumer group up to the current end of each partition. */
export async function readTopic(log: EventLog, topic: string, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const ends = await log.offsets(topic);
  const remaining = new Map(ends.filter((p) => p.high !== p.low).map((p) => [p.partition, BigInt(p.high)]));
  const records: ConsumedRecord[] = [];
  if (remaining.size === 0) return records;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = log.consume({
    groupId: `test-reader-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        const end = remaining.get(record.partition);
        if (end === undefined || BigInt(record.offset) >= end) continue;
        records.push(record);
        if (BigInt(record.offset) + 1n >= end) remaining.delete(record.partition);
      }
      if (remaining.size === 0) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  await Promise.race([finished, consumer.done]);
  clearTimeout(timer);
  await consumer.stop();
  if (remaining.size > 0)
    throw new Error(`readTopic(${topic}): timed out with partitions ${[...remaining.keys()]} unread`);
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export function headerText(record: ConsumedRecord, name: string): string | undefined {
  return record.headers[name]?.toString("utf8");
}

/** A WebSocket client for tests: queued incoming frames, and the close code when the server closes. */
export class TestClient {
  readonly #messages: string[] = [];
  readonly #waiters: ((message: string) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = data.toString();
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#messages.push(message);
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  /** `localAddress` picks the loopback address the client connects from (127.0.0.2, …), as another host would. */
  static open(
    url: string,
    headers: Record<string, string> = {},
    options: { localAddress?: string } = {},
  ): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers, localAddress: options.localAddress });
      socket.once("open", () => resolve(new TestClient(socket)));
      socket.once("unexpected-response", (_request, response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on("end", () => reject(new RefusedConnection(response.statusCode ?? 0, body)));
      });
      socket.once("error", reject);
    });
  }

  send(frame: string | object): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  next(timeoutMs = 15_000): Promise<string> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply within the time limit")), timeoutMs);
      this.#waiters.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  async request(frame: string | object): Promise<string> {
    this.send(frame);
    return this.next();
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.socket.close();
  }
}

export class RefusedConnection extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`connection refused with HTTP ${statusCode}: ${body}`);
    this.name = "RefusedConnection";
  }
}

/** A valid original (v1) message; `overrides` replace fields. */
export function v1Message(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    device_id: "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    vehicle_id: "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d",
    session_id: "0e1d2c3b-4a59-4867-a5b4-c3d2e1f0a9b8",
    order_id: "9f8e7d6c-5b4a-4392-8817-161514131211",
    status: "en_route",
    timestamp: new Date(Date.now() - 60_000).toISOString(),
    start_lat: 37.9755,
    start_lon: 23.7348,
    end_lat: 37.9838,
    end_lon: 23.7275,
    current_lat: 37.9791,
    current_lon: 23.7311,
    ...overrides,
  };
}

/** A valid v2 location ping; `overrides` replace fields. */
export function v2Ping(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    event_type: "location_ping",
    schema_version: 2,
    occurred_at: new Date(Date.now() - 30_000).toISOString(),
    device_id: "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    vehicle_id: "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d",
    session_id: "0e1d2c3b-4a59-4867-a5b4-c3d2e1f0a9b8",
    order_id: "9f8e7d6c-5b4a-4392-8817-161514131211",
    lat: 37.9791,
    lon: 23.7311,
    speed_kmh: 24.5,
    heading_deg: 312,
    accuracy_m: 6,
    ...overrides,
  };
}
