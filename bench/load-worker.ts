import { randomUUID } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";

/**
 * Load generator for the ingestion benchmark, run in a worker thread so that it uses the second core and
 * Venus's event loop measures only Venus. Frames are built before the clock starts.
 */

export interface LoadSpec {
  url: string;
  apiKey: string;
  protocol: "v1" | "v2";
  events: number;
  connections: number;
  batchSize: number;
  /** Frames in flight per connection. */
  window: number;
}

export interface LoadResult {
  acknowledged: number;
  rejected: number;
  elapsedMs: number;
  /** Acknowledgement latency of each event, in ms (an event of a batch has its batch's latency). */
  latenciesMs: Float64Array;
}

function deviceIds(count: number): string[] {
  return Array.from({ length: count }, () => randomUUID());
}

function buildFrames(spec: LoadSpec): string[][] {
  const devices = deviceIds(200);
  const occurredAt = new Date(Date.now() - 60_000).toISOString();
  const perConnection = Math.ceil(spec.events / spec.connections);
  const frames: string[][] = [];
  let made = 0;
  for (let c = 0; c < spec.connections; c++) {
    const list: string[] = [];
    const target = Math.min(perConnection, spec.events - made);
    if (spec.protocol === "v1") {
      for (let i = 0; i < target; i++) {
        const device = devices[(c * 31 + i) % devices.length]!;
        list.push(
          JSON.stringify({
            device_id: device,
            vehicle_id: device,
            session_id: "0e1d2c3b-4a59-4867-a5b4-c3d2e1f0a9b8",
            order_id: "9f8e7d6c-5b4a-4392-8817-161514131211",
            status: "en_route",
            timestamp: occurredAt,
            start_lat: 37.9755,
            start_lon: 23.7348,
            end_lat: 37.9838,
            end_lon: 23.7275,
            current_lat: 37.97 + (i % 100) / 10_000,
            current_lon: 23.73 + (i % 100) / 10_000,
          }),
        );
      }
    } else {
      for (let start = 0; start < target; start += spec.batchSize) {
        const size = Math.min(spec.batchSize, target - start);
        const events = Array.from({ length: size }, (_, k) => {
          const device = devices[(c * 31 + start + k) % devices.length]!;
          return {
            event_id: randomUUID(),
            event_type: "location_ping",
            schema_version: 2,
            occurred_at: occurredAt,
            device_id: device,
            vehicle_id: device,
            session_id: "0e1d2c3b-4a59-4867-a5b4-c3d2e1f0a9b8",
            order_id: "9f8e7d6c-5b4a-4392-8817-161514131211",
            lat: 37.97 + (k % 100) / 10_000,
            lon: 23.73 + (k % 100) / 10_000,
            speed_kmh: 23.5,
            heading_deg: 180,
            accuracy_m: 5,
          };
        });
        list.push(JSON.stringify({ type: "events", batch_id: `c${c}-b${start}`, events }));
      }
    }
    made += target;
    frames.push(list);
  }
  return frames;
}

async function runConnection(
  spec: LoadSpec,
  frames: string[],
  record: (latency: number, events: number, ok: number) => void,
): Promise<void> {
  const socket = new WebSocket(
    spec.url,
    spec.protocol === "v2" ? { headers: { "x-api-key": spec.apiKey } } : {},
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  const sentAt: number[] = [];
  const sizes: number[] = [];
  let next = 0;
  let answered = 0;
  let authenticated = spec.protocol === "v2";
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (authenticated && next < frames.length && next - answered < spec.window) {
        sentAt.push(performance.now());
        sizes.push(spec.protocol === "v1" ? 1 : spec.batchSize);
        socket.send(frames[next]!);
        next += 1;
      }
    };
    socket.on("message", (data) => {
      const reply = JSON.parse(data.toString()) as Record<string, unknown>;
      if (!authenticated) {
        if (reply.status !== "authenticated") reject(new Error(`authentication failed: ${data.toString()}`));
        authenticated = true;
        pump();
        return;
      }
      const latency = performance.now() - sentAt[answered]!;
      const events = sizes[answered]!;
      const ok = spec.protocol === "v1" ? (reply.success === true ? 1 : 0) : Number(reply.accepted ?? 0);
      record(latency, events, ok);
      answered += 1;
      if (answered === frames.length) resolve();
      else pump();
    });
    socket.once("close", () => answered < frames.length && reject(new Error("connection closed early")));
    if (spec.protocol === "v1") socket.send(JSON.stringify({ type: "authentication", api_key: spec.apiKey }));
    else pump();
  });
  socket.close();
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const frames = buildFrames(spec);
  const latencies = new Float64Array(spec.events);
  let filled = 0;
  let acknowledged = 0;
  let rejected = 0;
  const record = (latency: number, events: number, ok: number) => {
    for (let i = 0; i < events && filled < latencies.length; i++) latencies[filled++] = latency;
    acknowledged += ok;
    rejected += events - ok;
  };
  const started = performance.now();
  await Promise.all(frames.map((list) => runConnection(spec, list, record)));
  const elapsedMs = performance.now() - started;
  return { acknowledged, rejected, elapsedMs, latenciesMs: latencies.subarray(0, filled) };
}

if (parentPort) {
  run(workerData as LoadSpec).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: String(error) }),
  );
}
