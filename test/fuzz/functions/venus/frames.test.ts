import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestPlatform,
  TestClient,
  type TestPlatform,
  v1Message,
  v2Ping,
} from "#test/helpers/platform.ts";

/**
 * Venus's frame handling under arbitrary input: no crash, every frame gets exactly one reply, and the
 * connection stays usable. Runs against the real embedded log and a real WebSocket connection.
 */

const jsonValue = fc.jsonValue({ maxDepth: 3 });

/** Frames that are near-misses of valid ones: real frames with one field replaced by arbitrary JSON. */
const mutatedV1 = fc
  .tuple(fc.constantFrom(...Object.keys(v1Message())), jsonValue)
  .map(([field, value]) => JSON.stringify(v1Message({ [field]: value })));
const mutatedBatch = fc
  .tuple(fc.constantFrom(...Object.keys(v2Ping())), jsonValue, fc.string({ maxLength: 80 }))
  .map(([field, value, batchId]) =>
    JSON.stringify({ type: "events", batch_id: batchId, events: [v2Ping(), v2Ping({ [field]: value })] }),
  );
const frames = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  jsonValue.map((value) => JSON.stringify(value)),
  mutatedV1,
  mutatedBatch,
  fc
    .record({
      type: fc.constantFrom("events", "authentication", "x"),
      events: jsonValue,
      batch_id: jsonValue,
    })
    .map((f) => JSON.stringify(f)),
);

const nested = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

/**
 * Frames that once stopped the process or could: deep nesting (as a frame, as a v2 event, as a v1 extra field
 * within the size limit), long strings, and text that is not valid UTF-16.
 */
const SEED_CORPUS: [string][] = [
  [`{"device_id":${nested(4500)}}`],
  [`{"type":"events","batch_id":"deep","events":[${nested(4500)}]}`],
  [`{"type":"events","batch_id":"deep-object","events":[${'{"a":'.repeat(3000)}1${"}".repeat(3000)}]}`],
  [JSON.stringify(v1Message()).replace(/}$/, `,"route_name":${nested(3000)}}`)],
  [
    JSON.stringify({
      type: "events",
      batch_id: "long",
      events: [v2Ping({ device_id: "d".repeat(200_000) })],
    }),
  ],
  [JSON.stringify(v1Message({ route_name: "r".repeat(500_000) }))],
  [
    `{"type":"events","batch_id":"\ud800","events":[${JSON.stringify(v2Ping({ session_id: "\ud800\u0000" }))}]}`,
  ],
  [nested(100_000)],
];

describe("Venus frame handling (fuzz)", () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform("embedded");
  });

  afterAll(async () => {
    await platform?.close();
  });

  it.each([
    ["v1", {}],
    ["v2", { "x-api-key": "test-api-key-123" }],
  ])(
    "answers every arbitrary frame with one JSON reply on a %s connection and never drops it",
    async (protocol, headers) => {
      // Prepare
      const client = await TestClient.open(platform.url, headers);
      if (protocol === "v1") await client.request({ type: "authentication", api_key: "test-api-key-123" });

      // Act + Assess
      await fc.assert(
        fc.asyncProperty(frames, async (frame) => {
          // A wrong key in an authentication frame legitimately closes the connection; keep the key right.
          const sent = frame.includes('"authentication"')
            ? '{"type":"authentication","api_key":"test-api-key-123"}'
            : frame;
          const reply = await client.request(sent);
          const parsed = JSON.parse(reply) as Record<string, unknown>;
          expect(typeof parsed).toBe("object");
          expect(client.isOpen).toBe(true);
        }),
        { numRuns: 300, seed: 20261129, examples: SEED_CORPUS },
      );
      // The connection still acknowledges a good event afterwards.
      const last =
        protocol === "v1"
          ? await client.request(v1Message())
          : JSON.parse(await client.request({ type: "events", batch_id: "after-fuzz", events: [v2Ping()] }))
              .accepted;
      expect(last === '{"success":true,"message":"Data received"}' || last === 1).toBe(true);
      client.close();
    },
  );
});
