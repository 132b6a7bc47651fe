import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { kafkaBrokers } from "#test/helpers/kafka.ts";
import { isolatedEnv, v2Ping } from "#test/helpers/platform.ts";
import { loadMercuryConfig } from "../../../web/server/config.ts";
import { openMercuryContext } from "../../../web/server/open.ts";
import { standaloneLiveFeed } from "../../../web/server/standalone-feed.ts";

/**
 * Mercury on its own (`npm run web`): the live map follows the `sessions` topic on the real Kafka broker in a
 * consumer group of its own, and falls back to polling silver where no Kafka is configured.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** ClickHouse nobody answers on: the map's seed from silver fails, and Mercury says so and runs on. */
const UNREACHABLE = { url: "http://127.0.0.1:9", username: "reader", password: "x", database: "default" };

describe("Mercury's live feed on its own", () => {
  it("polls silver when no Kafka is configured", async () => {
    // Prepare
    const env = isolatedEnv("embedded");
    dirs.push(env.PACKETPULSE_DATA_DIR!);

    // Act
    const live = await standaloneLiveFeed(loadConfig(env));
    await live.close();

    // Assess
    expect(live.feed).toEqual({ kind: "silver" });
    expect(live.source).toBe("silver, polled every second");
  });

  it.skipIf(!kafkaBrokers())(
    "moves a courier on the map when its ping reaches the sessions topic",
    async () => {
      // Prepare
      const env = isolatedEnv("kafka");
      dirs.push(env.PACKETPULSE_DATA_DIR!);
      const config = loadConfig(env);
      const producer = await openEventLog(config);
      await producer.ensureTopics([{ topic: config.topics.sessions, partitions: 3 }]);
      const live = await standaloneLiveFeed(config);
      const printed: string[] = [];
      const { context, close } = await openMercuryContext({
        clickhouse: UNREACHABLE,
        config: loadMercuryConfig({ PACKETPULSE_DATA_DIR: env.PACKETPULSE_DATA_DIR! }),
        liveFeed: live.feed,
        print: (line) => printed.push(line),
      });
      const sessionId = randomUUID();

      // Act: the group starts at the topic's end once it has joined; ping until the map shows the courier
      const deadline = Date.now() + 30_000;
      let courier = context.live.snapshot().find((c) => c.sessionId === sessionId);
      while (!courier && Date.now() < deadline) {
        const ping = v2Ping({ session_id: sessionId, occurred_at: new Date().toISOString(), lat: 37.99 });
        await producer.append(config.topics.sessions, [
          { key: String(ping.device_id), value: JSON.stringify(ping) },
        ]);
        await new Promise((resolve) => setTimeout(resolve, 500));
        courier = context.live.snapshot().find((c) => c.sessionId === sessionId);
      }
      await close();
      await live.close();
      await producer.close();

      // Assess
      expect(live.source).toBe(`Kafka topic ${config.topics.sessions}`);
      expect(courier).toMatchObject({ sessionId, lat: 37.99, lon: 23.7311 });
      expect(printed.join("\n")).toContain("the live map starts empty");
    },
    60_000,
  );
});
