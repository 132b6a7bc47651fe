import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { AssignerProtocol, Kafka, logLevel } from "kafkajs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SILVER_MIGRATIONS_DIR } from "#functions/jupiter/store.ts";
import { GOLD_MIGRATIONS_DIR } from "#functions/uranus/store.ts";
import { type ClickHouseHttpServer, startClickHouseHttp } from "#shared/clickhouse/http/server.ts";
import { openClickHouse, readMigrations } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { partitionForKey } from "#shared/event-log/partitioner.ts";
import { replayNdjson } from "#shared/runtime/replay.ts";
import { kafkaBrokers } from "#test/helpers/kafka.ts";
import { isolatedEnv } from "#test/helpers/platform.ts";
import { type Spawned, spawnProcess } from "#test/helpers/processes.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * Several processes on one ClickHouse, as `docker compose up --scale jupiter=3` or Lambda containers run
 * them: migrations started at the same moment apply once, a schedule tick runs the gold models once, and
 * two Jupiter consumers in one group on the real broker write each event once. The processes share a
 * ClickHouse HTTP endpoint over embedded chDB (test/helpers/clickhouse-http.ts).
 */

const HELPERS = path.resolve(import.meta.dirname, "../helpers");
const FIXTURE = path.resolve(import.meta.dirname, "../../events/fixtures/athens-seed42-v2.ndjson");

let dataDir: string;
let endpoint: ClickHouseHttpServer;
/** How a process reaches the shared store: a ClickHouse server's URL and the interface's writer. */
let storeEnv: Record<string, string>;
let clickhouse: ClickHouseClient;
const children: Spawned[] = [];

/** A child process of the platform on the shared ClickHouse, embedded event log unless told otherwise. */
function child(script: string, extra: Record<string, string> = {}): Spawned {
  const spawned = spawnProcess("node", ["--import", "tsx", path.join(HELPERS, script)], {
    PACKETPULSE_DATA_DIR: mkdtempSync(path.join(dataDir, "process-")),
    PACKETPULSE_EVENT_LOG: "embedded",
    KAFKA_BOOTSTRAP_SERVERS: "",
    ...storeEnv,
    ...extra,
  });
  children.push(spawned);
  return spawned;
}

async function rows<T>(query: string): Promise<T[]> {
  return (await clickhouse.query({ query, format: "JSONEachRow" })).json<T>();
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-multi-instance-"));
  const embedded = loadConfig({ PACKETPULSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: "0" });
  endpoint = await startClickHouseHttp({
    path: path.join(dataDir, "clickhouse"),
    database: "packetpulse",
    http: embedded.clickhouseHttp,
  });
  storeEnv = {
    CLICKHOUSE_URL: endpoint.url,
    CLICKHOUSE_USER: embedded.clickhouseHttp.writer.name,
    CLICKHOUSE_PASSWORD: embedded.clickhouseHttp.writer.password,
  };
  clickhouse = await openClickHouse(loadConfig({ ...storeEnv, PACKETPULSE_DATA_DIR: dataDir }).clickhouse);
}, 60_000);

afterEach(async () => {
  for (const spawned of children.splice(0)) await spawned.stop("SIGKILL");
});

afterAll(async () => {
  await clickhouse?.close();
  await endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("several processes on one ClickHouse", () => {
  it("applies each migration once when two processes start at the same moment", async () => {
    // Act
    const started = [child("migrate-child.ts"), child("migrate-child.ts")];
    const codes = await Promise.all(started.map((spawned) => spawned.exited));
    const applied = await rows<{ scope: string; version: number; n: string }>(
      "SELECT scope, version, count() AS n FROM schema_migrations GROUP BY scope, version ORDER BY scope, version",
    );
    const leases = await rows<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'packetpulse_lease%'",
    );

    // Assess
    expect(codes, started.map((s) => s.output()).join("\n")).toEqual([0, 0]);
    const expected = [
      ...(await readMigrations(GOLD_MIGRATIONS_DIR)).map((m) => ({
        scope: "gold",
        version: m.version,
        n: "1",
      })),
      ...(await readMigrations(SILVER_MIGRATIONS_DIR)).map((m) => ({
        scope: "silver",
        version: m.version,
        n: "1",
      })),
    ];
    expect(applied).toEqual(expected);
    expect(expected.length).toBeGreaterThan(2);
    expect(leases).toEqual([]);
  }, 120_000);

  it("runs a schedule tick's gold models once when two runners receive it", async () => {
    // Prepare: the same minute's schedule event, as two replicas' schedulers each send it (own ids).
    const event = (id: string, second: string) =>
      JSON.stringify({
        id,
        "detail-type": "Scheduled Event",
        source: "aws.events",
        time: `2026-11-30T10:15:${second}Z`,
      });

    // Act
    const runners = [
      child("uranus-tick.ts", { URANUS_EVENT: event(randomUUID(), "00") }),
      child("uranus-tick.ts", { URANUS_EVENT: event(randomUUID(), "01") }),
    ];
    const codes = await Promise.all(runners.map((runner) => runner.exited));
    const summaries = runners.map(
      (runner) =>
        JSON.parse(/^summary (.*)$/m.exec(runner.output())?.[1] ?? "null") as {
          runId: string;
          models: unknown[];
          skipped?: string;
        },
    );
    const runs = await rows<{ runs: string; models: string }>(
      "SELECT uniqExact(run_id) AS runs, count() AS models FROM uranus_runs WHERE as_of >= '2026-11-30 10:15:00' AND as_of < '2026-11-30 10:16:00'",
    );

    // Assess
    expect(codes, runners.map((r) => r.output()).join("\n")).toEqual([0, 0]);
    const ran = summaries.filter((s) => s.models.length > 0);
    const skipped = summaries.filter((s) => s.skipped);
    expect(ran).toHaveLength(1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.skipped).toContain(`already run (run ${ran[0]!.runId}`);
    expect(runs).toEqual([{ runs: "1", models: String(ran[0]!.models.length) }]);
  }, 180_000);

  it.skipIf(!kafkaBrokers())(
    "writes each event once to silver with two Jupiter consumers in one group on the broker",
    async () => {
      // Prepare: a topic of this test, two consumers in a group of this test, both in the group first.
      const env = isolatedEnv("kafka");
      const group = `packetpulse-jupiter-${randomUUID().slice(0, 8)}`;
      const config = loadConfig(env);
      // The fixture's devices, renamed so that one device's events land on each partition: every member
      // of the group then has records to process, whichever partitions it is assigned.
      const fixture = readFileSync(FIXTURE, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "");
      const devices = [...new Set(fixture.map((line) => String(JSON.parse(line).device_id)))];
      const renamed = new Map<string, string>();
      for (const [index, device] of devices.entries()) {
        let candidate = randomUUID();
        while (partitionForKey(candidate, 3) !== index % 3) candidate = randomUUID();
        renamed.set(device, candidate);
      }
      const lines = fixture.map((line) => line.replace(/[0-9a-f-]{36}/g, (id) => renamed.get(id) ?? id));
      const pings = lines.map((line) => JSON.parse(line)).filter((e) => e.event_type === "location_ping");
      const log = await openEventLog(config);
      await log.ensureTopics(
        [config.topics.sessions, config.topics.deadLetter, `${config.topics.sessions}-jupiter-failed`].map(
          (topic) => ({ topic, partitions: 3 }),
        ),
      );
      const kafkaEnv = {
        ...env,
        PACKETPULSE_DATA_DIR: mkdtempSync(path.join(dataDir, "kafka-")),
        JUPITER_BATCH_SIZE: "10",
        JUPITER_GROUP_ID: group,
      };
      const consumers = [child("jupiter-runtime.ts", kafkaEnv), child("jupiter-runtime.ts", kafkaEnv)];
      await Promise.all(consumers.map((consumer) => consumer.waitFor(/^ready$/m, 60_000)));
      // The group rebalances when the second member joins: wait until it is stable with both members.
      const admin = new Kafka({ brokers: kafkaBrokers()!, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const members = async () => {
        const [described] = (await admin.describeGroups([group])).groups;
        return described?.state === "Stable" ? described.members.length : 0;
      };
      await waitUntil(async () => (await members()) >= 2, "a stable group with both members", 60_000, {
        pollMs: 200,
      });
      const membersBefore = await members();
      const assignments = (await admin.describeGroups([group])).groups[0]?.members.map(
        (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment,
      );
      await admin.disconnect();

      // Act
      await replayNdjson(log, config.topics.sessions, lines, { partitions: 3 });
      const offsets = await log.offsets(config.topics.sessions);
      await log.close();
      const stored = await waitUntil(
        async () => {
          // The table exists once a consumer's first invocation migrated the store.
          const found = await rows<{ n: string; events: string }>(
            "SELECT count() AS n, uniqExact(event_id) AS events FROM session_positions",
          ).catch(() => []);
          return Number(found[0]?.n) >= pings.length ? found : undefined;
        },
        "every ping in session_positions",
        90_000,
        { pollMs: 250 },
      );
      const invocations = consumers.map((consumer) => (consumer.output().match(/^done \d+$/gm) ?? []).length);

      // Assess: every ping once, and both consumers did part of the work.
      expect(membersBefore).toBe(2);
      expect(stored).toEqual([{ n: String(pings.length), events: String(pings.length) }]);
      expect(
        invocations.every((n) => n > 0),
        JSON.stringify({ invocations, assignments, offsets }),
      ).toBe(true);
    },
    180_000,
  );
});
