import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "#mars/index.ts";
import type { FixtureBatch } from "#test/fixtures/uranus-gold-sessions.ts";
import { type GoldTestStore, openGoldTestStore } from "#test/helpers/uranus-gold.ts";

/**
 * For random simulated days (Mars is seeded and deterministic), delivered in a random batch order with some
 * batches twice, the KPI totals of every period kind equal the sums over session_summary, and
 * session_summary has one row per simulated session.
 */

let store: GoldTestStore;

beforeAll(async () => {
  store = await openGoldTestStore();
});

afterAll(async () => {
  await store?.close();
});

interface Totals {
  sessions: string;
  completed: string;
  failed: string;
  cancelled: string;
  with_promise: string;
  punctual: string;
  path_mm: string;
  completed_ms: string;
}

describe("kpi_aggregates against session_summary", () => {
  it("sums of every period kind equal the totals over sessions, for random simulated days", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          sessions: fc.integer({ min: 2, max: 20 }),
          // Any minute of 2024–2025, so days, ISO weeks and months are cut anywhere.
          startMinute: fc.integer({ min: 0, max: 2 * 365 * 24 * 60 }),
          hours: fc.integer({ min: 1, max: 30 }),
          batchOrder: fc.func(fc.integer()),
          duplicateEvery: fc.integer({ min: 2, max: 6 }),
        }),
        async ({ seed, sessions, startMinute, hours, batchOrder, duplicateEvery }) => {
          // Prepare
          await store.reset();
          const startMs = Date.parse("2024-01-01T00:00:00Z") + startMinute * 60_000;
          const events = [...simulate({ seed, sessions, startMs, hours, updateIntervalS: 30 })];
          const receivedAt = new Date(Math.max(...events.map((e) => e.atMs)) + 1000).toISOString();
          const batches: FixtureBatch[] = [];
          for (let i = 0; i < events.length; i += 250) {
            batches.push({
              receivedAt,
              events: events.slice(i, i + 250).map(({ event }) => ({ protocol: 2, value: { ...event } })),
            });
          }
          const delivered = batches
            .flatMap((batch, i) => (i % duplicateEvery === 0 ? [batch, batch] : [batch]))
            .map((batch, i) => ({ batch, key: batchOrder(i) }))
            .sort((a, b) => a.key - b.key)
            .map(({ batch }) => batch);
          await store.feed(delivered);

          // Act
          const result = await store.run({ asOf: new Date(receivedAt), mode: "full" });
          const [truth] = await store.rows<Totals>(
            `SELECT count() AS sessions, countIf(status = 'completed') AS completed,
                    countIf(status = 'failed') AS failed, countIf(status = 'cancelled') AS cancelled,
                    countIf(on_time IS NOT NULL) AS with_promise, countIf(on_time = 1) AS punctual,
                    sum(toInt64(round(total_distance_km * 1e6))) AS path_mm,
                    sumIf(toInt64(round(duration_seconds * 1000)), status = 'completed') AS completed_ms
             FROM session_summary`,
          );
          const perKind = await store.rows<Totals & { period: string }>(
            `SELECT period, sum(sessions_started) AS sessions, sum(sessions_completed) AS completed,
                    sum(sessions_failed) AS failed, sum(sessions_cancelled) AS cancelled,
                    sum(sessions_with_promise) AS with_promise, sum(sessions_on_time) AS punctual,
                    toInt64(round(sum(total_distance_km) * 1e6)) AS path_mm,
                    toInt64(round(sum(completed_duration_seconds) * 1000)) AS completed_ms
             FROM kpi_aggregates GROUP BY period ORDER BY period`,
          );

          // Assess
          expect(store.deadLetters).toEqual([]);
          expect(result.ok).toBe(true);
          expect(Number(truth!.sessions)).toBe(new Set(events.map((e) => e.event.session_id)).size);
          expect(perKind.map((row) => row.period)).toEqual(["day", "month", "week"]);
          for (const { period, ...totals } of perKind) {
            expect({ period, ...totals }).toEqual({ period, ...truth });
          }
        },
      ),
      { numRuns: 6, seed: 4242, endOnFailure: true },
    );
  }, 300_000);
});
