import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openBronzeStore } from "#functions/neptune/store.ts";
import { SqliteConnectionStore } from "#functions/venus/connection-store.ts";
import { openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { kafkaBrokers, kafkaScript } from "#test/helpers/kafka.ts";
import { chdbQuery } from "#test/helpers/neptune-readers.ts";
import { TestClient, v2Ping } from "#test/helpers/platform.ts";
import { freePort, type Spawned, spawnProcess } from "#test/helpers/processes.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * Faults an operator meets, on `npm start` as a user runs it: a second process on the data folder, a damaged
 * event log, connections left by a killed process, and (on Kafka) a broker that is down when the platform
 * starts. docs/operations.md says what each looks like and what to do.
 */

const API_KEY = "test-api-key-faults";
const start = (env: Record<string, string>) =>
  spawnProcess("node", ["--import", "tsx", "host/start.ts"], { API_KEY, ...env });

async function health(port: number, key?: string): Promise<{ code: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`, {
    headers: key ? { "x-api-key": key } : {},
  });
  return { code: response.status, body: await response.text() };
}

describe("npm start on one data folder", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-faults-"));
  // No ClickHouse HTTP interface: with one, `npm run uranus` goes through the running platform instead
  // (test/integration/cli/sql.test.ts); without it, only the lock can tell it who holds the store.
  const env = {
    PACKETPULSE_DATA_DIR: dataDir,
    KAFKA_BOOTSTRAP_SERVERS: "",
    PACKETPULSE_EVENT_LOG: "embedded",
    CLICKHOUSE_HTTP_PORT: "off",
  };
  const running: Spawned[] = [];

  afterAll(async () => {
    for (const process of running) await process.stop("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("lets one process own the folder: a second npm start or npm run uranus exits at once naming the holder", async () => {
    // Prepare
    const port = await freePort();
    const first = start({ ...env, VENUS_PORT: String(port) });
    running.push(first);
    await first.waitFor("PacketPulse is running", 120_000);
    await first.waitFor(/uranus gold: /, 120_000);

    // Act
    const secondPort = await freePort();
    const began = Date.now();
    const second = start({ ...env, VENUS_PORT: String(secondPort) });
    const secondCode = await second.exited;
    const secondMs = Date.now() - began;
    const uranus = spawnProcess("node", ["--import", "tsx", "cli/uranus.ts"], env);
    const uranusCode = await uranus.exited;
    const anonymous = await health(port);
    const operator = await health(port, API_KEY);

    // Assess
    const message = `The data folder ${dataDir} is in use by process ${first.child.pid} (npm start)`;
    expect(secondCode).toBe(1);
    expect(second.output()).toContain(message);
    expect(second.output()).not.toContain("PacketPulse is running");
    expect(second.output()).not.toContain("chdb");
    await expect(fetch(`http://127.0.0.1:${secondPort}/health`)).rejects.toThrow();
    expect(uranusCode).toBe(2);
    expect(uranus.output()).toContain(message);
    // The platform's /health: every component ok; paths only for a caller with the API key.
    expect(anonymous.code).toBe(200);
    const report = JSON.parse(anonymous.body) as { status: string; components: { component: string }[] };
    expect(report.status).toBe("ok");
    expect(report.components.map((c) => c.component).sort()).toEqual([
      "bronze-catalog",
      "clickhouse",
      "consumer:jupiter",
      "consumer:neptune",
      "event-log",
      "uranus",
      "venus",
    ]);
    expect(anonymous.body).not.toContain(dataDir);
    expect(operator.body).toContain(dataDir);
    console.info(`second npm start on a held folder exited with ${secondCode} after ${secondMs} ms`);
  }, 240_000);

  it("removes connection rows a killed process left behind", async () => {
    // Prepare: a device connected, then the platform killed with SIGKILL.
    const first = running[0]!;
    const port = Number(/health: http:\/\/[\w.]+:(\d+)\/health/.exec(first.output())![1]);
    const client = await TestClient.open(`ws://127.0.0.1:${port}/ws`, { "x-api-key": API_KEY });
    const store = await SqliteConnectionStore.open(path.join(dataDir, "venus-connections.sqlite"));
    const before = store.count();
    await first.stop("SIGKILL");
    client.close();

    // Act
    const again = start({ ...env, VENUS_PORT: String(port) });
    running.push(again);
    await again.waitFor("PacketPulse is running", 120_000);
    const after = store.count();
    await store.close();
    const code = await again.stop("SIGTERM");

    // Assess
    expect(before).toBe(1);
    expect(after).toBe(0);
    expect(again.output()).toContain("venus: removed 1 connection row(s) left by an earlier run");
    expect(code).toBe(0);
  }, 240_000);

  it("refuses to start on a damaged event log, saying what to do", async () => {
    // Prepare: pages in the middle of the log file overwritten (the platform is stopped).
    const file = path.join(dataDir, "event-log.sqlite");
    const size = statSync(file).size;
    const fd = openSync(file, "r+");
    const pages = Math.max(1, Math.floor(size / 4096 / 4));
    writeSync(fd, Buffer.alloc(4096 * pages, 0x5a), 0, 4096 * pages, Math.floor(size / 4096 / 2) * 4096);
    closeSync(fd);

    // Act
    const port = await freePort();
    const damaged = start({ ...env, VENUS_PORT: String(port) });
    const code = await damaged.exited;

    // Assess
    expect(code).toBe(1);
    expect(damaged.output()).toContain(`The event log file ${file} is damaged (SQLite quick_check:`);
    expect(damaged.output()).toContain("What to do:");
    expect(damaged.output()).not.toContain("PacketPulse is running");
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 120_000);
});

/** scripts/kafka.sh with a broker of this test's own: its own ports and data folder. */
function ownBroker(command: "start" | "stop", settings: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [kafkaScript, command],
      { env: { ...process.env, ...settings }, timeout: 240_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`kafka.sh ${command}: ${error.message}\n${stdout}${stderr}`))
          : resolve(stdout),
    );
  });
}

describe.skipIf(!kafkaBrokers())("npm start while its Kafka broker is down", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-broker-down-"));
  const kafkaDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-broker-down-kafka-"));
  let broker: Record<string, string> | undefined;
  let platform: Spawned | undefined;

  afterAll(async () => {
    await platform?.stop("SIGKILL");
    if (broker) await ownBroker("stop", broker).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(kafkaDir, { recursive: true, force: true });
  });

  it("heals when the broker comes up and when it restarts mid-ingest: health goes failing → ok, every acknowledged event in silver and bronze once", async () => {
    // Prepare: ports for a broker that is not running yet (the shared test broker is left alone).
    const kafkaPort = await freePort();
    broker = {
      KAFKA_PORT: String(kafkaPort),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
      KAFKA_DATA_DIR: kafkaDir,
    };
    const port = await freePort();
    platform = start({
      PACKETPULSE_DATA_DIR: dataDir,
      VENUS_PORT: String(port),
      PACKETPULSE_EVENT_LOG: "kafka",
      KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${kafkaPort}`,
      BRONZE_COMMIT_INTERVAL_MS: "1000",
    });
    await platform.waitFor("PacketPulse is running", 120_000);
    const down = await waitUntil(
      async () => {
        const answer = await health(port);
        return answer.code === 503 ? answer : undefined;
      },
      "a failing /health",
      60_000,
      { pollMs: 250, retryOnError: true },
    );

    // Act: the broker starts; once /health is ok, devices send.
    const brokerStarted = Date.now();
    await ownBroker("start", broker);
    const up = await waitUntil(
      async () => {
        const answer = await health(port);
        return answer.code === 200 ? answer : undefined;
      },
      "an ok /health",
      180_000,
      { pollMs: 250, retryOnError: true },
    );
    const healedMs = Date.now() - brokerStarted;
    const client = await TestClient.open(`ws://127.0.0.1:${port}/ws`, { "x-api-key": API_KEY });
    const acknowledged: string[] = [];
    let retryReplies = 0;
    const send = async (b: number) => {
      const events = Array.from({ length: 25 }, (_, i) =>
        v2Ping({
          device_id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
          session_id: randomUUID(),
        }),
      );
      for (let attempt = 0; ; attempt++) {
        // Venus keeps trying an append for up to 30 s while the broker is away before it answers.
        client.send({ type: "events", batch_id: `b${b}`, events });
        const reply = JSON.parse(await client.next(60_000)) as { type: string };
        if (reply.type === "ack") break;
        retryReplies++;
        expect(attempt).toBeLessThan(60);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      acknowledged.push(...events.map((event) => event.event_id as string));
    };
    for (let b = 0; b < 20; b++) await send(b);
    const statsFile = path.join(dataDir, "event-source-runtime.json");
    const caughtUp = () =>
      waitUntil(
        async () => {
          const stats = JSON.parse(readFileSync(statsFile, "utf8")) as {
            eventSources: { functionName: string; lag: number | null; recordsProcessed: number }[];
          };
          const done = stats.eventSources.every(
            (s) => s.lag === 0 && s.recordsProcessed >= acknowledged.length,
          );
          return done && stats.eventSources.length === 2 ? true : undefined;
        },
        "both consumers caught up",
        180_000,
        { pollMs: 250, retryOnError: true },
      );
    await caughtUp();
    // Then the broker restarts while devices keep sending (and resend what was not acknowledged).
    let restarting = true;
    const settings = broker;
    const restart = ownBroker("stop", settings)
      .then(() => ownBroker("start", settings))
      .finally(() => {
        restarting = false;
      });
    let sentDuringRestart = 0;
    for (let b = 20; b < 60; b++) {
      if (restarting) sentDuringRestart++;
      await send(b);
      if (b < 40) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await restart;
    client.close();
    await caughtUp();
    const output = platform.output();
    expect(await platform.stop("SIGTERM")).toBe(0);
    platform = undefined;

    // Assess: silver and bronze hold each acknowledged event once.
    const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir });
    const clickhouse = await openClickHouse(config.clickhouse);
    const [silver] = await (
      await clickhouse.query({
        query: "SELECT count() AS n, uniqExact(event_id) AS ids FROM session_positions FINAL",
        format: "JSONEachRow",
      })
    ).json<{ n: string; ids: string }>();
    await clickhouse.close();
    const bronzeStore = await openBronzeStore(config.bronze);
    const location = bronzeStore.table.location;
    await bronzeStore.close();
    const [bronze] = await chdbQuery<{ n: string; ids: string }>(
      `SELECT count() AS n, uniqExact(event_id) AS ids FROM icebergLocal('${location}')`,
      dataDir,
    );
    expect(JSON.parse(down.body)).toMatchObject({ status: "failing" });
    expect(JSON.parse(up.body)).toMatchObject({ status: "ok" });
    expect(down.body).not.toContain(`127.0.0.1:${kafkaPort}`);
    expect(output).toMatch(/health: consumer:jupiter \w+ → failing/);
    expect(output).toContain("health: consumer:jupiter failing → ok");
    expect(output).toContain("health: consumer:neptune failing → ok");
    expect(sentDuringRestart).toBeGreaterThan(0);
    expect(acknowledged).toHaveLength(1500);
    expect(silver).toEqual({ n: "1500", ids: "1500" });
    expect({ n: Number(bronze!.n), ids: Number(bronze!.ids) }).toEqual({ n: 1500, ids: 1500 });
    console.info(
      `broker down at start: /health 503, then 200 ${healedMs} ms after the broker was started; broker restarted mid-ingest (${sentDuringRestart} batches sent during it, ${retryReplies} retry replies); ${acknowledged.length} acknowledged, ${silver!.ids} in silver, ${bronze!.ids} in bronze`,
    );
  }, 600_000);
});
