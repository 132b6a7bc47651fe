import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { replayNdjson } from "#shared/runtime/replay.ts";
import type { EventSourceStats } from "#shared/runtime/types.ts";
import { headerText, readTopic } from "#test/helpers/platform.ts";
import { type Spawned, spawnProcess } from "#test/helpers/processes.ts";

/**
 * Jupiter under a crash, on the embedded default: the runtime process is SIGKILLed in the middle of the
 * stream, after a batch's rows reached ClickHouse and before its offsets were committed (the worst moment:
 * the restart delivers those records again). The silver tables must still hold every event exactly once.
 */

const FIXTURE = path.resolve(import.meta.dirname, "../../../../events/fixtures/athens-seed42-v2.ndjson");
const CHILD = path.resolve(import.meta.dirname, "../../../helpers/jupiter-runtime.ts");
const GROUP = "packetpulse-jupiter";
const BATCH_SIZE = 10;
const HOLD_AFTER = 8; // invocation 9 writes its rows, then hangs until the kill

/** The last `stats {…}` line the child printed (Jupiter's event source). */
function lastStats(child: Spawned): EventSourceStats {
  const lines = child.output().match(/^stats .*$/gm) ?? [];
  if (lines.length === 0) throw new Error(`no stats printed; output:\n${child.output()}`);
  return JSON.parse(lines[lines.length - 1]!.slice("stats ".length)) as EventSourceStats;
}

describe("Jupiter after a crash on the embedded default", () => {
  // Outside the repository on purpose, as PACKETPULSE_DATA_DIR=/elsewhere would be.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-jupiter-fault-"));
  const children: Spawned[] = [];

  afterAll(async () => {
    for (const child of children) await child.stop("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the process killed in the middle of a batch and restarted gives no missing and no duplicated rows", async () => {
    // Prepare: the fixture stream on the sessions topic, and what silver must hold for it.
    const env = {
      PACKETPULSE_DATA_DIR: dataDir,
      PACKETPULSE_EVENT_LOG: "embedded",
      KAFKA_BOOTSTRAP_SERVERS: "",
      JUPITER_BATCH_SIZE: String(BATCH_SIZE),
    };
    const config = loadConfig(env);
    const lines = readFileSync(FIXTURE, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "");
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const pingIds = events.filter((e) => e.event_type === "location_ping").map((e) => String(e.event_id));
    const distinct = (key: string) => new Set(events.map((e) => String(e[key]))).size;
    const failedTopic = `${config.topics.sessions}-jupiter-failed`;
    const setupLog = await openEventLog(config);
    await setupLog.ensureTopics(
      [config.topics.deadLetter, failedTopic].map((topic) => ({
        topic,
        partitions: config.topics.partitions,
      })),
    );
    const total = await replayNdjson(setupLog, config.topics.sessions, lines, {
      partitions: config.topics.partitions,
    });
    await setupLog.close();
    const eventLogState = async () => {
      const log = await openEventLog(config);
      try {
        const committed = await log.committedOffsets(GROUP, config.topics.sessions);
        const uncommitted = (await readTopic(log, config.topics.sessions))
          .filter(
            (r) =>
              BigInt(r.offset) >= BigInt(committed.find((c) => c.partition === r.partition)?.offset ?? 0),
          )
          .map((r) => headerText(r, "event_id"));
        const written = async (topic: string) =>
          (await log.offsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
        return {
          committed: committed.reduce((sum, c) => sum + Number(c.offset ?? 0), 0),
          deadLetters: await written(config.topics.deadLetter),
          failed: await written(failedTopic),
          uncommitted: new Set(uncommitted),
        };
      } finally {
        await log.close();
      }
    };
    const storedPingIds = async () => {
      const clickhouse = await openClickHouse(config.clickhouse);
      try {
        const rows = await (
          await clickhouse.query({ query: "SELECT event_id FROM session_positions", format: "JSONEachRow" })
        ).json<{ event_id: string }>();
        return rows.map((row) => row.event_id);
      } finally {
        await clickhouse.close();
      }
    };

    // Act: run Jupiter, kill it while invocation HOLD_AFTER + 1 is written but not committed.
    const first = spawnProcess("node", ["--import", "tsx", CHILD], {
      ...env,
      JUPITER_HOLD_AFTER: String(HOLD_AFTER),
    });
    children.push(first);
    await first.waitFor(/^held \d+$/m, 45_000);
    const atKill = lastStats(first);
    const killed = await first.stop("SIGKILL");
    const afterKill = await eventLogState();
    // What the crashed run left in ClickHouse (read once the process let go of chDB's folder).
    const positionsAtKill = await storedPingIds();

    // Act: restart (no hold) and let it catch up.
    const second = spawnProcess("node", ["--import", "tsx", CHILD], env);
    children.push(second);
    await second.waitFor(/^stats .*"lag":0,/m, 45_000);
    const caughtUp = lastStats(second);
    const stopped = await second.stop("SIGTERM");
    const afterRestart = await eventLogState();

    // Assess: the kill landed mid-stream, with written but uncommitted records.
    expect(total).toBe(lines.length);
    expect(first.child.signalCode ?? killed).toBe("SIGKILL");
    expect(first.output()).toMatch(/^done \d+$/m);
    expect(atKill.recordsProcessed).toBeGreaterThan(0);
    expect(atKill.recordsProcessed).toBeLessThan(total);
    expect(afterKill.committed).toBeGreaterThan(0);
    expect(afterKill.committed).toBeLessThan(total);
    expect(positionsAtKill.length).toBeGreaterThan(0);
    expect(new Set(positionsAtKill).size).toBeLessThan(pingIds.length);
    // Rows of the held batch are already in ClickHouse: the restart delivers them a second time.
    expect(positionsAtKill.filter((id) => afterKill.uncommitted.has(id)).length).toBeGreaterThan(0);

    // Assess: the restart delivered exactly the uncommitted rest, without a failure.
    expect(stopped).toBe(0);
    expect(caughtUp).toMatchObject({
      lag: 0,
      recordsProcessed: total - afterKill.committed,
      failedInvocations: 0,
      recordsSentToDestination: 0,
      recordsDiscarded: 0,
    });
    expect(afterRestart).toMatchObject({ committed: total, deadLetters: 0, failed: 0 });
    expect(afterRestart.uncommitted.size).toBe(0);

    // Assess: every event exactly once in silver (views as gold reads them, and the raw tables merged).
    const clickhouse = await openClickHouse(config.clickhouse);
    const rows = async <T>(query: string) =>
      (await clickhouse.query({ query, format: "JSONEachRow" })).json<T>();
    try {
      const movements = await rows<{ event_id: string }>("SELECT event_id FROM session_movements");
      expect(movements.length).toBe(pingIds.length);
      expect(new Set(movements.map((m) => m.event_id))).toEqual(new Set(pingIds));
      expect(
        await rows("SELECT count() AS rows, uniqExact(event_id) AS ids FROM session_positions FINAL"),
      ).toEqual([{ rows: String(pingIds.length), ids: String(pingIds.length) }]);
      expect(
        await rows(
          "SELECT count() AS n FROM session_positions FINAL WHERE event_id NOT IN (SELECT event_id FROM session_movements)",
        ),
      ).toEqual([{ n: "0" }]);
      for (const [view, entity, key] of [
        ["sessions_current", "session", "session_id"],
        ["orders_current", "order", "order_id"],
        ["vehicles_current", "vehicle", "vehicle_id"],
      ] as const) {
        const want = String(distinct(key));
        expect(await rows(`SELECT count() AS n, uniqExact(${key}) AS ids FROM ${view}`), view).toEqual([
          { n: want, ids: want },
        ]);
        // The partial rows merge into one per entity.
        expect(
          await rows(`SELECT count() AS n FROM entities FINAL WHERE entity = '${entity}'`),
          entity,
        ).toEqual([{ n: want }]);
      }
    } finally {
      await clickhouse.close();
    }
  }, 90_000);
});
