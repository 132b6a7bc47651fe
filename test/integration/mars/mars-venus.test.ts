import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MARS_DEFAULTS, runMars } from "#mars/run.ts";
import { type V1Message, v1EventId } from "#shared/events/index.ts";
import {
  headerText,
  logBackends,
  readTopic,
  startTestPlatform,
  type TestPlatform,
} from "#test/helpers/platform.ts";

/** End to end: Mars's simulated couriers → Venus → the event log, with both protocols, on both backends. */

const quietStderr = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;

describe.each(logBackends())("Mars → Venus → %s event log", (backend) => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });

  afterAll(async () => {
    await platform?.close();
  });

  it.each(["v2", "v1"] as const)(
    "stores exactly the events Mars sent and Venus acknowledged (%s)",
    async (protocol) => {
      // Prepare
      const out = path.join(os.tmpdir(), `mars-${protocol}-${Date.now()}.ndjson`);
      const before = await readTopic(platform.log, platform.config.topics.sessions);

      // Act
      const summary = await runMars(
        {
          ...MARS_DEFAULTS,
          url: platform.url,
          apiKey: "test-api-key-123",
          sessions: 12,
          couriers: 4,
          seed: 20261129,
          speed: "max",
          protocol,
          out,
          progress: "off",
        },
        { stderr: quietStderr },
      );

      // Assess
      const sent = readFileSync(out, "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      rmSync(out, { force: true });
      expect(summary.exitCode).toBe(0);
      expect(summary.sessionsDone).toBe(12);
      expect(summary.rejected).toBe(0);
      expect(summary.acknowledged).toBe(sent.length);
      const after = await readTopic(platform.log, platform.config.topics.sessions);
      const earlier = new Set(before.map((record) => `${record.partition}:${record.offset}`));
      const stored = after.filter((record) => !earlier.has(`${record.partition}:${record.offset}`));
      expect(stored).toHaveLength(sent.length);
      const sentIds = sent.map((event) =>
        protocol === "v2" ? (event.event_id as string) : v1EventId(event as unknown as V1Message),
      );
      expect(new Set(stored.map((record) => headerText(record, "event_id")))).toEqual(new Set(sentIds));
      // Each device's events are in event-time order within its partition.
      const lastTime = new Map<string, number>();
      for (const record of stored) {
        const event = JSON.parse(record.value!.toString()) as Record<string, string>;
        const time = Date.parse(
          event.occurred_at ?? `${event.timestamp}${event.timestamp!.endsWith("Z") ? "" : "Z"}`,
        );
        expect(time).toBeGreaterThanOrEqual(lastTime.get(record.key!.toString()) ?? 0);
        lastTime.set(record.key!.toString(), time);
      }
    },
  );
});
