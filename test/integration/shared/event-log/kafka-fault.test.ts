import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaBrokers, restartKafkaBroker } from "#test/helpers/kafka.ts";
import {
  headerText,
  readTopic,
  startTestPlatform,
  TestClient,
  type TestPlatform,
  v2Ping,
} from "#test/helpers/platform.ts";

/** Fault: the Kafka broker restarts while Venus is ingesting. */
describe.skipIf(!kafkaBrokers())("Venus while the Kafka broker restarts", () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform("kafka");
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("keeps every acknowledged event and recovers by itself", async () => {
    // Prepare
    const client = await TestClient.open(platform.url, { "x-api-key": "test-api-key-123" });
    const batches = Array.from({ length: 80 }, (_, b) => ({
      type: "events",
      batch_id: `fault-${b}`,
      events: Array.from({ length: 25 }, (_, i) =>
        v2Ping({ device_id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` }),
      ),
    }));
    const acknowledged = new Set<string>();
    let unavailableReplies = 0;

    // Act: send batch after batch; restart the broker a few batches in; resend what was not acknowledged.
    let restart: Promise<void> | undefined;
    let restarting = false;
    let sentDuringRestart = 0;
    for (const [index, batch] of batches.entries()) {
      if (index === 10) {
        restarting = true;
        restart = restartKafkaBroker().finally(() => {
          restarting = false;
        });
      }
      if (restarting) sentDuringRestart += 1;
      for (let attempt = 0; ; attempt++) {
        const reply = JSON.parse(await client.request(batch)) as { type: string; accepted?: number };
        if (reply.type === "ack") {
          expect(reply.accepted).toBe(batch.events.length);
          for (const event of batch.events) acknowledged.add(event.event_id as string);
          break;
        }
        unavailableReplies += 1;
        expect(attempt).toBeLessThan(10);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      // Pace the stream so the restart happens while events keep arriving.
      if (index < 40) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await restart;
    client.close();

    // Assess
    const stored = await readTopic(platform.log, platform.config.topics.sessions, 60_000);
    const storedIds = new Set(stored.map((record) => headerText(record, "event_id")));
    const missing = [...acknowledged].filter((id) => !storedIds.has(id));
    expect(sentDuringRestart).toBeGreaterThan(0);
    expect(acknowledged.size).toBe(80 * 25);
    expect(missing).toEqual([]);
    const health = await (await fetch(`${platform.httpUrl}/health`)).json();
    expect(health).toMatchObject({ status: "ok" });
    console.info(
      `kafka fault: ${acknowledged.size} acknowledged, ${stored.length} stored, ${unavailableReplies} retry replies, ${sentDuringRestart} batches sent during the restart`,
    );
  }, 240_000);
});
