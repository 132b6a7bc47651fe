import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * The end-to-end rig: `npm start` in a child process on a fresh data folder with every port chosen by the
 * system, a Mars fixture replayed into it, gold refreshed, and Debian's Chromium (never a downloaded browser)
 * driven by playwright-core. WebGL runs on SwiftShader.
 */

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const FIXTURE = path.join(ROOT, "events/fixtures/athens-seed42-v2.ndjson");
export const ADMIN = { email: "admin@example.com", password: "password" };

export interface RunningPlatform {
  dataDir: string;
  mercuryUrl: string;
  venusUrl: string;
  sqlUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

/** A port free right now (Venus's configuration takes no 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function env(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PACKETPULSE_DATA_DIR: dataDir,
    CLICKHOUSE_HTTP_PORT: "0",
    MERCURY_PORT: "0",
    KAFKA_BOOTSTRAP_SERVERS: "",
    CLICKHOUSE_URL: "",
    NODE_ENV: "development",
    ...extra,
  };
}

export async function startPlatform(
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunningPlatform> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-mercury-e2e-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "host/start.ts"], {
    cwd: ROOT,
    env: env(dataDir, { VENUS_PORT: String(await freePort()), ...options.env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const urls = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`npm start stopped with code ${child.exitCode}`);
      const mercury = /Mercury (http:\/\/\S+)/.exec(output)?.[1];
      const venus = /Venus {2}(ws:\/\/\S+)/.exec(output)?.[1];
      const sql = /SQL {4}(http:\/\/\S+)/.exec(output)?.[1];
      return mercury && venus && sql ? { mercury, venus, sql } : undefined;
    },
    "npm start to serve Mercury",
    timeoutMs,
    { pollMs: 200 },
  ).catch((error: Error) => {
    child.kill("SIGKILL");
    throw new Error(`${error.message}:\n${output}`);
  });
  return {
    dataDir,
    mercuryUrl: urls.mercury,
    venusUrl: urls.venus,
    sqlUrl: urls.sql,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs an npm script of the repository against the platform's data folder; resolves with its output. */
export function runScript(dataDir: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env: env(dataDir) });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${args.join(" ")} exited with ${code}:\n${output}`));
    });
  });
}

/** The fixture replayed into the log, then silver waited for and gold rebuilt in full (the fixture's events are from 2024). */
export async function seedFixture(platform: RunningPlatform, sessions: number): Promise<void> {
  await runScript(platform.dataDir, ["cli/replay.ts", FIXTURE]);
  await waitUntil(
    async () => (await query(platform, "SELECT count() FROM sessions")) === String(sessions),
    "silver",
    60_000,
    { pollMs: 250, retryOnError: true },
  );
  await runScript(platform.dataDir, ["cli/uranus.ts", "--full-refresh"]);
}

/** One value from the platform's ClickHouse interface, as the read-only reader. */
export async function query(platform: RunningPlatform, sql: string): Promise<string> {
  const response = await fetch(platform.sqlUrl, {
    method: "POST",
    headers: { Authorization: `Basic ${Buffer.from("reader:packetpulse-dev-reader").toString("base64")}` },
    body: `${sql} FORMAT TSV`,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${sql}: ${text}`);
  return text.trim();
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist",
    ],
  });
}

export async function signIn(page: Page, baseUrl: string, credentials = ADMIN): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', credentials.email);
  await page.fill('input[name="password"]', credentials.password);
  await Promise.all([page.waitForURL(/\/overview$/), page.click('button[type="submit"]')]);
}

/** Waits for the page's map to be idle (everything it has drawn), as screenshots and pixel counts need. */
export async function waitForMapIdle(page: Page, timeoutMs = 30_000): Promise<void> {
  await page.waitForSelector('[data-testid="map"][data-idle="true"]', { timeout: timeoutMs });
}

/** Pixels of the map's canvas that differ from its background colour (#eef1f4). */
export async function drawnPixels(page: Page): Promise<{ drawn: number; total: number }> {
  const png = await page.locator('[data-testid="map"] canvas').first().screenshot();
  // Decoded in the page (the browser has a PNG decoder); a string keeps DOM types out of the Node program.
  return page.evaluate(`(async () => {
    const image = new Image();
    image.src = "data:image/png;base64,${png.toString("base64")}";
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, image.width, image.height);
    let drawn = 0;
    for (let i = 0; i < data.length; i += 4) {
      const far = Math.abs(data[i] - 0xee) + Math.abs(data[i + 1] - 0xf1) + Math.abs(data[i + 2] - 0xf4);
      if (far > 24) drawn++;
    }
    return { drawn, total: data.length / 4 };
  })()`);
}

/**
 * How many pixels of the map's canvas are near each of `colours` (hex, within 24 of the RGB sum), and how
 * many near none of them ("other": lines, labels, their anti-aliased edges); and, for each of `places`
 * (lon, lat), the colour most of the 5×5 pixels around it are near.
 */
export async function pixelClasses<Colour extends string>(
  page: Page,
  colours: Record<Colour, string>,
  places: [number, number][] = [],
): Promise<{ counts: Record<Colour | "other" | "total", number>; at: (Colour | "other")[] }> {
  const png = await page.locator('[data-testid="map"] canvas').first().screenshot();
  const rgb = Object.entries<string>(colours).map(([name, hex]) => [
    name,
    [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)),
  ]);
  return page.evaluate(`(async () => {
    const colours = ${JSON.stringify(rgb)};
    const image = new Image();
    image.src = "data:image/png;base64,${png.toString("base64")}";
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, image.width, image.height);
    const classOf = (i) =>
      colours.find(([, c]) =>
        Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]) <= 24,
      )?.[0] ?? "other";
    const counts = { other: 0, total: data.length / 4 };
    for (const [name] of colours) counts[name] = 0;
    for (let i = 0; i < data.length; i += 4) counts[classOf(i)]++;
    const at = ${JSON.stringify(places)}.map((place) => {
      const { x, y } = window.mercuryMap.project(place);
      const votes = {};
      for (let dx = -2; dx <= 2; dx++) {
        for (let dy = -2; dy <= 2; dy++) {
          const name = classOf((Math.round(y + dy) * image.width + Math.round(x + dx)) * 4);
          votes[name] = (votes[name] ?? 0) + 1;
        }
      }
      return Object.entries(votes).sort((a, b) => b[1] - a[1])[0][0];
    });
    return { counts, at };
  })()`);
}

/** Sends v2 events to Venus over its WebSocket and resolves with the ack. */
export async function sendEvents(
  venusUrl: string,
  events: Record<string, unknown>[],
): Promise<{ accepted: number }> {
  const { default: WebSocket } = await import("ws");
  const socket = new WebSocket(venusUrl, { headers: { "x-api-key": "mars-secret-key" } });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  const ack = await new Promise<{ accepted: number }>((resolve, reject) => {
    socket.once("message", (data) => resolve(JSON.parse(data.toString()) as { accepted: number }));
    socket.once("error", reject);
    socket.send(JSON.stringify({ type: "events", batch_id: `e2e-${Date.now()}`, events }));
  });
  socket.close();
  return ack;
}

/** A courier on a session that starts now near Syntagma: its session_started and first ping. */
export function liveCourier(at = Date.now()) {
  const ids = {
    device_id: crypto.randomUUID(),
    vehicle_id: crypto.randomUUID(),
    session_id: crypto.randomUUID(),
    order_id: crypto.randomUUID(),
  };
  const envelope = (type: string, ms: number) => ({
    event_id: crypto.randomUUID(),
    event_type: type,
    schema_version: 2,
    occurred_at: new Date(ms).toISOString(),
    ...ids,
  });
  const ping = (ms: number, lat: number, lon: number) => ({
    ...envelope("location_ping", ms),
    lat,
    lon,
    speed_kmh: 22.5,
    heading_deg: 45,
    accuracy_m: 4,
  });
  return {
    ids,
    started: [
      {
        ...envelope("session_started", at - 60_000),
        pickup_lat: 37.9755,
        pickup_lon: 23.7348,
        dropoff_lat: 37.9925,
        dropoff_lon: 23.7615,
        vehicle_type: "scooter",
        promised_at: new Date(at + 30 * 60_000).toISOString(),
      },
      ping(at - 50_000, 37.9755, 23.7348),
      ping(at - 30_000, 37.9772, 23.7371),
      ping(at - 10_000, 37.979, 23.7399),
    ],
    ping,
  };
}
