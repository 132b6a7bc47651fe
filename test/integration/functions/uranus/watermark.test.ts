import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createJupiter } from "#functions/jupiter/index.ts";
import type { LogRecordInput } from "#shared/event-log/types.ts";
import { sessionsRecordForLine } from "#shared/runtime/replay.ts";
import { AS_OF, goldFixtureBatches } from "#test/fixtures/uranus-gold-sessions.ts";
import { spawnProcess } from "#test/helpers/processes.ts";
import { type GoldTestStore, KM_PER_DEGREE, openGoldTestStore } from "#test/helpers/uranus-gold.ts";

/**
 * Gold never silently misses data: incremental runs take what reached silver after the previous run,
 * whatever its event or receive time (docs/decisions/019-gold-ingestion-watermark.md).
 */

const FIXTURE = path.resolve("events/fixtures/athens-seed42-v2.ndjson");
const fixtureLines = () =>
  readFileSync(FIXTURE, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
const fixtureSessions = () =>
  [...new Set(fixtureLines().map((line) => (JSON.parse(line) as { session_id: string }).session_id))].sort();

/** Replays records as `npm run replay` appends them (event time as record time) through Jupiter's handler. */
async function replayThroughJupiter(store: GoldTestStore, records: LogRecordInput[], firstOffset: number) {
  const jupiter = createJupiter({ clickhouse: store.clickhouse, deadLetter: async () => {} });
  const kafkaRecords = records.map((record, i) => ({
    topic: "sessions",
    partition: 0,
    offset: firstOffset + i,
    timestamp: record.timestamp!,
    timestampType: "CREATE_TIME",
    key: Buffer.from(record.key).toString("base64"),
    value: Buffer.from(record.value).toString("base64"),
    headers: Object.entries(record.headers ?? {}).map(([name, text]) => ({ [name]: [...Buffer.from(text)] })),
  }));
  for (let start = 0; start < kafkaRecords.length; start += 100) {
    await jupiter(
      { eventSource: "aws:kafka", records: { "sessions-0": kafkaRecords.slice(start, start + 100) } },
      {} as Context,
    );
  }
}

describe("gold incremental runs and silver's ingestion watermark", () => {
  let store: GoldTestStore;

  beforeAll(async () => {
    store = await openGoldTestStore();
  }, 120_000);

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.reset();
  });

  it("shows a replayed 2024 fixture in session_summary after one incremental run", async () => {
    // Prepare: a store in its steady state (a full run, then a scheduled one), far past the fixture's days.
    const next = await store.feed(goldFixtureBatches());
    await store.run({ asOf: new Date(AS_OF), mode: "full" });
    await store.run({ asOf: new Date(Date.parse(AS_OF) + 60_000) });
    const sessions = fixtureSessions();

    // Act: replay the fixture (records carry 2024-05-01 times), then ONE scheduled run.
    await replayThroughJupiter(
      store,
      fixtureLines().map((line, i) => sessionsRecordForLine(line, i + 1)),
      next,
    );
    const run = await store.run({ asOf: new Date(Date.parse(AS_OF) + 120_000) });
    const inGold = await store.rows<{ session_id: string }>(
      `SELECT session_id FROM session_summary WHERE session_id IN (${sessions.map((s) => `'${s}'`).join(", ")}) ORDER BY session_id`,
    );
    const incremental = await store.table("session_summary");
    await store.run({ asOf: new Date(Date.parse(AS_OF) + 120_000), mode: "full" });

    // Assess
    const summary = run.models.find((m) => m.model === "session_summary")!;
    expect(summary).toMatchObject({ mode: "incremental", outcome: "success" });
    // The fixture's sessions, and H and F, which silver received within the look-back (13:01 and 13:11).
    expect(summary.rowsWritten).toBe(sessions.length + 2);
    expect(sessions.length).toBeGreaterThan(0);
    expect(inGold.map((r) => r.session_id).sort()).toEqual(sessions);
    expect(incremental).toEqual(await store.table("session_summary"));
    console.info(
      `replayed fixture: ${sessions.length} sessions in silver, ${inGold.length} in session_summary after one incremental run (${summary.rowsWritten} recomputed)`,
    );
  }, 180_000);

  it("orders points with equal timestamps by their log position, in silver and in gold", async () => {
    // Prepare: four pings along a meridian; the last three share one timestamp and arrive 37.91, 37.93,
    // 37.92, with event ids that sort the other way round.
    const ids = {
      device_id: "de71ce00-0000-4000-8000-0000000000aa",
      vehicle_id: "7e41c1e0-0000-4000-8000-0000000000aa",
      session_id: "5e551000-0000-4000-8000-0000000000aa",
      order_id: "0bde0000-0000-4000-8000-0000000000aa",
    };
    const ping = (eventId: string, at: string, lat: number) => ({
      protocol: 2 as const,
      value: {
        event_id: eventId,
        event_type: "location_ping",
        schema_version: 2,
        occurred_at: at,
        ...ids,
        lat,
        lon: 23.7,
        speed_kmh: 10,
        heading_deg: 0,
        accuracy_m: 5,
      },
    });
    await store.feed([
      {
        receivedAt: "2024-05-06T12:00:05Z",
        events: [
          ping("e7e70000-0000-4000-8000-00000000a000", "2024-05-06T12:00:00Z", 37.9),
          ping("e7e70000-0000-4000-8000-00000000a0ff", "2024-05-06T12:00:01Z", 37.91),
          ping("e7e70000-0000-4000-8000-00000000a0fe", "2024-05-06T12:00:01Z", 37.93),
          ping("e7e70000-0000-4000-8000-00000000a0fd", "2024-05-06T12:00:01Z", 37.92),
        ],
      },
    ]);

    // Act
    await store.run({ asOf: new Date("2024-05-06T12:05:00Z"), mode: "full", only: ["session_summary"] });
    const movements = await store.rows<{ lat: number; distance_m: number | null }>(
      `SELECT lat, distance_m FROM session_movements WHERE session_id = '${ids.session_id}'
       ORDER BY lat`,
    );
    const [summary] = await store.rows<{ total_distance_km: number; ping_count: string; last_lat: number }>(
      `SELECT total_distance_km, ping_count, last_lat FROM session_summary WHERE session_id = '${ids.session_id}'`,
    );

    // Assess: in arrival order 37.91, 37.93 and 37.92 are 0.01°, 0.02° and 0.01° from their predecessors
    // (0.04° of path, 4.45 km), and the last position is 37.92. In event-id order they would be 0.02°, 0.01°
    // and 0.02° (0.05°), and silver's tie-break by coordinate would make the last position 37.93.
    const degrees = (m: { distance_m: number | null }) =>
      m.distance_m === null ? null : Math.round((m.distance_m / 1000 / KM_PER_DEGREE) * 1e4) / 1e4;
    expect(movements.map((m) => [m.lat, degrees(m)])).toEqual([
      [37.9, null],
      [37.91, 0.01],
      [37.92, 0.01],
      [37.93, 0.02],
    ]);
    expect(summary!.ping_count).toBe("4");
    expect(summary!.total_distance_km).toBeCloseTo(0.04 * KM_PER_DEGREE, 6);
    expect(summary!.last_lat).toBe(37.92);
  }, 120_000);
});

describe("a gold run killed with SIGKILL half-way", () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-gold-kill-"));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("leaves gold to the next incremental run, which equals a full refresh", async () => {
    // Prepare: gold up to date, then the fixture replayed into silver.
    let store = await openGoldTestStore({ dataDir });
    const next = await store.feed(goldFixtureBatches());
    await store.run({ asOf: new Date(AS_OF), mode: "full" });
    await replayThroughJupiter(
      store,
      fixtureLines().map((line, i) => sessionsRecordForLine(line, i + 1)),
      next,
    );
    await store.close();

    // Act: `npm run uranus` killed with SIGKILL while it builds session_summary, then one run in-process.
    const cli = spawnProcess("node", ["--import", "tsx", "cli/uranus.ts"], {
      PACKETPULSE_DATA_DIR: dataDir,
    });
    await cli.waitFor(/\[1\/\d+\] session_summary \(incremental\)/, 120_000);
    await cli.stop("SIGKILL");
    const killedOutput = cli.output();
    store = await openGoldTestStore({ dataDir });
    try {
      const recorded = await store.rows<{ n: string }>("SELECT count() AS n FROM uranus_runs");
      const run = await store.run({ asOf: new Date(Date.parse(AS_OF) + 60_000) });
      const afterRun = await store.table("session_summary");
      const leftovers = await store.rows(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%\\_\\_next'",
      );
      await store.run({ asOf: new Date(Date.parse(AS_OF) + 60_000), mode: "full" });
      const full = await store.table("session_summary");

      // Assess: the killed run recorded nothing; the next one took the replayed sessions and left no __next.
      expect(killedOutput).not.toContain("Done:");
      expect(recorded).toEqual([{ n: "10" }]);
      expect(run.ok).toBe(true);
      expect(run.models.find((m) => m.model === "session_summary")).toMatchObject({ mode: "incremental" });
      expect(leftovers).toEqual([]);
      expect(afterRun).toEqual(full);
      expect(afterRun.length).toBe(8 + fixtureSessions().length);
    } finally {
      await store.close();
    }
  }, 300_000);
});
