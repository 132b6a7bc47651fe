import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBronzeFreshness } from "#functions/neptune/bronze-freshness.ts";
import { openBronzeStore, processBronzeBatch } from "#functions/neptune/index.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { lineEventTime, lineRecord, restS3Config, spreadLines } from "#test/helpers/neptune-stream.ts";
import { type GoldTestStore, openGoldTestStore } from "#test/helpers/uranus-gold.ts";

/** pipeline_freshness reports bronze, on either catalog (docs/gold.md, "Bronze freshness"). */

const restUrl = process.env.PACKETPULSE_TEST_ICEBERG_REST_URL;
const s3Endpoint = process.env.PACKETPULSE_TEST_S3_ENDPOINT ?? "http://127.0.0.1:5055";

/** Writes the spread fixture stream into bronze in batches of 60, as Neptune does. */
async function writeBronze(config: PacketPulseConfig): Promise<Date> {
  const store = await openBronzeStore(config.bronze);
  try {
    const lines = spreadLines();
    const records = lines.map((line, i) => lineRecord(line, i, 0, i));
    for (let i = 0; i < records.length; i += 60) {
      await processBronzeBatch({ table: store.table, deadLetter: async () => {} }, records.slice(i, i + 60));
    }
    return new Date(Math.max(...lines.map(lineEventTime)));
  } finally {
    await store.close();
  }
}

describe("bronze freshness", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-bronze-freshness-"));
  let gold: GoldTestStore;

  beforeAll(async () => {
    gold = await openGoldTestStore();
  }, 120_000);

  afterAll(async () => {
    await gold?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("gives pipeline_freshness bronze's newest event time from a file-system catalog", async () => {
    // Prepare
    const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir });
    const freshness = openBronzeFreshness(config.bronze);
    const beforeAnyWrite = await freshness.newestEventAt();
    const newest = await writeBronze(config);

    // Act
    const asOf = new Date(newest.getTime() + 60_000);
    await gold.run({ asOf, mode: "full", bronze: freshness });
    const rows = await gold.rows<{ layer: string; available: number; newest_event_at: string | null }>(
      "SELECT layer, available, newest_event_at, lag_seconds FROM pipeline_freshness WHERE layer = 'bronze'",
    );
    const health = await freshness.healthCheck().check();
    await freshness.close();

    // Assess
    expect(beforeAnyWrite).toBeNull();
    expect(rows).toEqual([
      { layer: "bronze", available: 1, newest_event_at: newest.toISOString(), lag_seconds: 60 },
    ]);
    expect(health).toMatchObject({ status: "ok", facts: { newestEventAt: newest.toISOString() } });
  }, 120_000);

  it.skipIf(!restUrl)(
    "reads the same from a REST catalog on S3",
    async () => {
      // Prepare
      const config = restS3Config(
        `sessions_${randomUUID().replaceAll("-", "").slice(0, 12)}`,
        restUrl!,
        s3Endpoint,
      );
      const newest = await writeBronze(config);
      const freshness = openBronzeFreshness(config.bronze);

      // Act
      const read = await freshness.newestEventAt();
      const again = await freshness.newestEventAt();
      await freshness.close();

      // Assess
      expect(read?.toISOString()).toBe(newest.toISOString());
      expect(again?.toISOString()).toBe(newest.toISOString());
    },
    120_000,
  );

  it("counts bronze as unavailable, and its catalog as failing, when the catalog does not answer", async () => {
    // Prepare: a REST catalog on a port where nothing listens.
    const config = restS3Config("sessions", "http://127.0.0.1:9", s3Endpoint);
    const freshness = openBronzeFreshness(config.bronze);

    // Act
    await gold.run({
      asOf: new Date(),
      mode: "full",
      only: ["session_summary", "pipeline_freshness"],
      bronze: freshness,
    });
    const rows = await gold.rows(
      "SELECT layer, available, newest_event_at FROM pipeline_freshness WHERE layer = 'bronze'",
    );
    const health = await freshness.healthCheck().check();
    await freshness.close();

    // Assess
    expect(rows).toEqual([{ layer: "bronze", available: 0, newest_event_at: null }]);
    expect(health.status).toBe("failing");
    expect(health.reason).not.toContain("127.0.0.1");
  }, 120_000);
});
