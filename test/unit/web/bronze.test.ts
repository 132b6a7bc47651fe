import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type BronzeStore, openBronzeStore, processBronzeBatch } from "#functions/neptune/index.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { lineRecord, restS3Config } from "#test/helpers/neptune-stream.ts";
import { BronzeReader } from "../../../web/server/bronze.ts";

/**
 * The session page's raw events: a real bronze table written by Neptune's batch code (the local warehouse,
 * and S3 behind the Iceberg REST catalog where .ci/run started one), read back by Mercury's reader.
 */

const FIXTURES = path.resolve(import.meta.dirname, "../../../events/fixtures");
const fixture = (name: string) =>
  readFileSync(path.join(FIXTURES, name), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
// The original devices' v1 frames (with their extra fields route_name and waypoint_count) and Mars's v2 events.
const LINES = [...fixture("original-devices-v1.ndjson"), ...fixture("athens-seed42-v2.ndjson")];
const sessionOf = (line: string) => (JSON.parse(line) as { session_id: string }).session_id;
const timeOf = (line: string) => {
  const event = JSON.parse(line) as { occurred_at?: string; timestamp?: string };
  // v1 timestamps without a zone are UTC.
  return Date.parse(event.occurred_at ?? `${event.timestamp}Z`);
};

/** The lines as `sessions` records on two partitions, written by Neptune in batches of 40 (many files). */
async function writeBronze(store: BronzeStore, lines: readonly string[], firstOffset = 0) {
  const offsets = [firstOffset, firstOffset];
  const records = lines.map((line, i) => lineRecord(line, i, i % 2, offsets[i % 2]!++));
  for (let i = 0; i < records.length; i += 40) {
    await processBronzeBatch({ table: store.table, deadLetter: async () => {} }, records.slice(i, i + 40));
  }
}

const backends: { name: string; config: () => PacketPulseConfig; skip: boolean }[] = [
  {
    name: "the local warehouse",
    skip: false,
    config: () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-web-bronze-"));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      return loadConfig({ PACKETPULSE_DATA_DIR: dataDir, KAFKA_BOOTSTRAP_SERVERS: "" });
    },
  },
  {
    name: "S3 behind the Iceberg REST catalog",
    skip: !process.env.PACKETPULSE_TEST_ICEBERG_REST_URL,
    config: () =>
      restS3Config(
        `mercury_${randomUUID().replaceAll("-", "").slice(0, 12)}`,
        process.env.PACKETPULSE_TEST_ICEBERG_REST_URL!,
        process.env.PACKETPULSE_TEST_S3_ENDPOINT ?? "http://127.0.0.1:5055",
      ),
  },
];
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`a session's raw events from bronze on ${backend.name}`, () => {
    it("says bronze is not written yet, then pages the session's events oldest first with payloads as stored", async () => {
      // Prepare: a reader before Neptune's first commit, then the fixtures written in many small commits.
      const config = backend.config();
      const reader = new BronzeReader(config.bronze);
      const v1Session = sessionOf(LINES[0]!);
      const before = await reader.sessionEvents(v1Session, { page: 1, pageSize: 10 });
      const store = await openBronzeStore(config.bronze);
      await writeBronze(store, LINES);
      const expected = LINES.filter((line) => sessionOf(line) === v1Session);

      // Act
      const first = await reader.sessionEvents(v1Session, { page: 1, pageSize: 10 });
      const pages = first.state === "events" ? first.pages : 0;
      const all = [];
      for (let page = 1; page <= pages; page++) {
        const answer = await reader.sessionEvents(v1Session, { page, pageSize: 10 });
        if (answer.state === "events") all.push(...answer.events);
      }
      const beyond = await reader.sessionEvents(v1Session, { page: 10_000, pageSize: 10 });

      // Assess: nothing before the first commit, and a message that says what to do.
      expect(before).toMatchObject({ state: "not-written", message: expect.stringMatching(/Reload/) });
      // Every event of the session once, payload byte for byte (v1's route_name and waypoint_count kept).
      expect(expected.length).toBeGreaterThan(10);
      expect(first).toMatchObject({ state: "events", total: expected.length, page: 1 });
      expect(pages).toBe(Math.ceil(expected.length / 10));
      expect(all.map((e) => e.payload).sort()).toEqual([...expected].sort());
      expect(all[0]!.payload).toContain('"route_name"');
      expect(all.every((e) => e.schemaVersion === 1 && e.eventType === "v1_message")).toBe(true);
      // Newest last: event times never go back.
      const times = all.map((e) => Date.parse(e.eventTime));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times[0]).toBe(Math.min(...expected.map(timeOf)));
      expect(beyond).toMatchObject({ state: "events", page: pages });
      await store.close();
      await reader.close();
    });

    it("reads the session's days only when told them, sees new commits, and names a session bronze lacks", async () => {
      // Prepare
      const config = backend.config();
      const store = await openBronzeStore(config.bronze);
      const v2Lines = LINES.filter((line) => JSON.parse(line).schema_version === 2);
      await writeBronze(store, v2Lines);
      const reader = new BronzeReader(config.bronze);
      const session = sessionOf(v2Lines[0]!);
      const own = v2Lines.filter((line) => sessionOf(line) === session);
      const first = new Date(Math.min(...own.map(timeOf))).toISOString();
      const last = new Date(Math.max(...own.map(timeOf))).toISOString();
      const aYearLater = new Date(Date.parse(last) + 365 * 86_400_000).toISOString();

      // Act
      const inDays = await reader.sessionEvents(session, {
        page: 1,
        pageSize: 500,
        days: { from: first, to: last },
      });
      const otherDays = await reader.sessionEvents(session, {
        page: 1,
        pageSize: 500,
        days: { from: aYearLater, to: aYearLater },
      });
      const late = {
        ...JSON.parse(own.at(-1)!),
        event_id: randomUUID(),
        occurred_at: new Date(Date.parse(last) + 1000).toISOString(),
      };
      await writeBronze(store, [JSON.stringify(late)], 10_000);
      const after = await reader.sessionEvents(session, { page: 1, pageSize: 500 });
      const unknown = await reader.sessionEvents(randomUUID(), { page: 1, pageSize: 10 });

      // Assess
      expect(inDays).toMatchObject({ state: "events", total: own.length });
      expect(otherDays).toMatchObject({ state: "not-written" });
      expect(after).toMatchObject({ state: "events", total: own.length + 1 });
      expect(after.state === "events" && after.events.at(-1)!.payload).toBe(JSON.stringify(late));
      expect(unknown).toMatchObject({
        state: "not-written",
        message: expect.stringMatching(/No event of this session is in bronze yet/),
      });
      await store.close();
      await reader.close();
    });
  });
}

describe("a bronze catalog that does not answer", () => {
  it("gives an error that says what to check, and the next read tries again", async () => {
    // Prepare: a REST catalog address where nothing listens.
    const config = restS3Config("sessions", "http://127.0.0.1:9", "http://127.0.0.1:9");
    const reader = new BronzeReader(config.bronze);

    // Act
    const answers = [
      await reader.sessionEvents(randomUUID(), { page: 1, pageSize: 10 }),
      await reader.sessionEvents(randomUUID(), { page: 1, pageSize: 10 }),
    ];

    // Assess
    for (const answer of answers) {
      expect(answer).toMatchObject({ state: "error", message: expect.stringMatching(/ICEBERG_REST_URL/) });
    }
    await reader.close();
  });
});
