import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { goldFixtureBatches } from "#test/fixtures/uranus-gold-sessions.ts";
import { isolatedEnv, TestClient } from "#test/helpers/platform.ts";
import { freePort, type Spawned, spawnProcess } from "#test/helpers/processes.ts";
import { buildHandlers } from "../../../../scripts/build.ts";

/**
 * Under `serverless offline`, the `schedule` event of serverless.yml invokes Uranus's built handler every
 * minute (through the project's plugin and its local scheduler, shortened to 3 s here by
 * PACKETPULSE_SCHEDULE_SCALE) while Jupiter's event source fills silver, both on the embedded ClickHouse
 * of the data folder.
 */
describe("Uranus under serverless offline", () => {
  let offline: Spawned | undefined;
  const env = isolatedEnv("embedded");

  afterAll(async () => {
    await offline?.stop();
    rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  });

  it("runs the gold models on the emulated schedule over what Jupiter wrote", async () => {
    // Prepare
    await buildHandlers();
    const [wsPort, httpPort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
    Object.assign(env, {
      VENUS_PORT: String(wsPort),
      OFFLINE_HTTP_PORT: String(httpPort),
      OFFLINE_LAMBDA_PORT: String(lambdaPort),
      PACKETPULSE_SCHEDULE_SCALE: "0.05",
    });
    offline = spawnProcess("npx", ["serverless", "offline"], env);
    await offline.waitFor("Server ready", 90_000);
    const events = goldFixtureBatches().flatMap((batch) =>
      batch.events.filter((e) => e.protocol === 2).map((e) => e.value),
    );

    // Act: the v2 sessions of the hand-built week, in one batch, then wait for two scheduled runs after
    // Jupiter processed them: runs never overlap, so the second began after silver had them.
    const client = await TestClient.open(`ws://127.0.0.1:${wsPort}/ws`, { "x-api-key": env.API_KEY! });
    const reply = JSON.parse(await client.request({ type: "events", batch_id: "gold", events })) as {
      accepted: number;
    };
    client.close();
    await offline.waitFor(
      /[1-9]\d* processed[\s\S]*\[schedules\] uranus finished[\s\S]*\[schedules\] uranus finished/,
      120_000,
    );
    await offline.stop();
    offline = undefined;
    const clickhouse = await openClickHouse(loadConfig(env).clickhouse);
    const [gold] = await (
      await clickhouse.query({
        query: `SELECT (SELECT count() FROM session_summary) AS sessions,
                       (SELECT countIf(outcome != 'success') FROM uranus_runs) AS failures`,
        format: "JSONEachRow",
      })
    ).json<{ sessions: string; failures: string }>();
    await clickhouse.close();

    // Assess: seven v2 sessions (A–D, F–H; E is v1).
    expect(reply.accepted).toBe(events.length);
    expect(gold).toEqual({ sessions: "7", failures: "0" });
  }, 300_000);
});
