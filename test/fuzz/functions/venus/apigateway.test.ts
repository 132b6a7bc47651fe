import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { deepArrayText, deepObjectText, MEGABYTE_STRING } from "#test/helpers/hostile-records.ts";
import { isolatedEnv, readTopic, v1Message, v2Ping } from "#test/helpers/platform.ts";

/**
 * Venus's Lambda handler (API Gateway WebSocket API) under arbitrary and hostile events: $connect with
 * garbage headers, $default with any body (deep nesting, megabytes, base64 garbage), missing or wrongly
 * typed requestContext fields, events that are not API Gateway events at all. Every one must be answered
 * with a well-formed API Gateway response (an integer statusCode, a string body or none; a JSON reply for
 * a frame), never a thrown error, and the connections that were good before keep working after.
 */

const API_KEY = "test-api-key-123";
const context = {
  functionName: "packetpulse-local-venus",
  awsRequestId: "fuzz",
  getRemainingTimeInMillis: () => 29_000,
};

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body?: string }>;

/** API Gateway's @connections API (PostToConnection, DeleteConnection), which no local engine provides. */
async function startConnectionsApi(): Promise<{ server: Server; url: string; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const call = `${request.method} ${decodeURIComponent(request.url ?? "")}`;
      calls.push(call);
      // A client that closed meanwhile: API Gateway answers 410 GoneException.
      if (call.includes("/@connections/gone-")) {
        response
          .writeHead(410, { "content-type": "application/json", "x-amzn-errortype": "GoneException" })
          .end('{"message":"Gone"}');
      } else response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

const route = (routeKey: string, connectionId: string, extra: Record<string, unknown> = {}) => ({
  requestContext: {
    routeKey,
    connectionId,
    domainName: "abc123.execute-api.us-east-1.amazonaws.com",
    stage: "prod",
    identity: { sourceIp: "203.0.113.7" },
  },
  isBase64Encoded: false,
  ...extra,
});
const frame = (connectionId: string, body: unknown, isBase64Encoded = false) =>
  route("$default", connectionId, { body, isBase64Encoded });

/** Strings a client controls: arbitrary, binary, empty, a megabyte, control and path characters. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", MEGABYTE_STRING, "\u0000", "../../etc/passwd", "%00%ff", "Yk9ZCcEXAMPLEAM="),
);

/** Connection ids: API Gateway makes them (16 characters), but a handler must not trust their shape. */
const connectionIdString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", "\u0000", "../../etc/passwd", "%00%ff", "Yk9ZCcEXAMPLEAM="),
);

/** Header and query maps as API Gateway gives them (names and values strings), with hostile contents. */
const headerMap = fc.oneof(
  fc.constantFrom(undefined, null),
  fc.dictionary(
    fc.oneof(
      fc.constantFrom("x-api-key", "X-API-KEY", "X-Api-Key", "api_key", "Host"),
      fc.string({ maxLength: 20 }),
    ),
    fc.oneof(fc.constantFrom(API_KEY, "", "wrong-key", MEGABYTE_STRING), fc.string({ maxLength: 40 })),
    { maxKeys: 4 },
  ),
);
/** The same, or of the wrong JSON type altogether. */
const stringMap = fc.oneof(headerMap, fc.jsonValue({ maxDepth: 2 }));

const deepBatch = (levels: number) =>
  `{"type":"events","batch_id":"deep","events":[${deepObjectText(levels)}]}`;

/** Frame texts: real frames of both protocols, near misses, deep nesting, garbage. */
const frameText = fc.oneof(
  fc.constant(JSON.stringify(v1Message())),
  fc.constant(JSON.stringify({ type: "events", batch_id: "fuzz", events: [v2Ping()] })),
  fc.constantFrom(
    JSON.stringify({ type: "authentication", api_key: API_KEY }),
    JSON.stringify({ type: "authentication", api_key: "wrong-key" }),
  ),
  fc
    .tuple(fc.constantFrom(...Object.keys(v2Ping())), fc.jsonValue({ maxDepth: 3 }))
    .map(([field, value]) =>
      JSON.stringify({ type: "events", batch_id: "mutated", events: [v2Ping({ [field]: value })] }),
    ),
  fc.integer({ min: 1, max: 3_000 }).map((levels) => deepBatch(levels)),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
);

/** A $default body, and whether API Gateway says it is base64 (correctly, or wrongly). */
const body = fc.oneof(
  frameText.map((text) => ({ body: text as unknown, isBase64Encoded: false as unknown })),
  frameText.map((text) => ({ body: Buffer.from(text).toString("base64") as unknown, isBase64Encoded: true })),
  fc.record({
    body: fc.oneof(hostileString, fc.constantFrom(null, undefined), fc.jsonValue({ maxDepth: 2 })),
    isBase64Encoded: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
  }),
);

/**
 * A well-formed API Gateway WebSocket event with hostile contents. The two connections set up before the
 * fuzzing ("seed-v1", "seed-v2", authenticated) only get frames, so that their protocols' deeper paths are
 * reached and they can be checked afterwards; the other ids connect, disconnect and authenticate at random.
 */
const wellFormedEvent = fc
  .record({
    route: fc.oneof(
      fc.record({
        routeKey: fc.constantFrom("$connect", "$disconnect", "$default"),
        connectionId: fc.oneof(fc.constantFrom("fuzz-1", "fuzz-2", "fuzz-3"), connectionIdString),
      }),
      fc.record({ routeKey: fc.constant("$default"), connectionId: fc.constantFrom("seed-v1", "seed-v2") }),
    ),
    domainName: fc.constantFrom("abc123.execute-api.us-east-1.amazonaws.com", "localhost"),
    sourceIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant(null), hostileString),
    headers: headerMap,
    queryStringParameters: headerMap,
    payload: body.filter(
      ({ body: text, isBase64Encoded }) =>
        typeof isBase64Encoded === "boolean" && (text == null || typeof text === "string"),
    ),
  })
  .map(({ route, domainName, sourceIp, payload, ...maps }) => ({
    requestContext: { ...route, domainName, stage: "prod", identity: { sourceIp } },
    ...maps,
    ...payload,
  }));

/** An event whose requestContext fields may be missing, of any type, or hostile strings. */
const requestContext = fc.record(
  {
    routeKey: fc.oneof(fc.constantFrom("$connect", "$disconnect", "$default"), hostileString),
    connectionId: fc.oneof(fc.constantFrom("fuzz-1", "fuzz-2", "fuzz-3"), connectionIdString),
    domainName: fc.oneof(
      fc.constantFrom("abc123.execute-api.us-east-1.amazonaws.com", "localhost"),
      hostileString,
    ),
    stage: fc.oneof(fc.constant("prod"), hostileString),
    identity: fc.oneof(
      fc.record({ sourceIp: fc.oneof(fc.ipV4(), fc.constant(null), hostileString) }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
  },
  { requiredKeys: [] },
);
const misshapenEvent = fc
  .record(
    { requestContext, headers: stringMap, queryStringParameters: stringMap, payload: body },
    { requiredKeys: ["requestContext", "payload"] },
  )
  .map(({ payload, ...event }) => ({ ...event, ...payload }));

const apiGatewayEvent = fc.oneof(
  { arbitrary: wellFormedEvent, weight: 6 },
  { arbitrary: misshapenEvent, weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
);

/** Issue 13's cases, and the shapes of event the generator reaches only rarely. */
const SEEDS: [string, unknown][] = [
  // The frame that stopped `npm start`: 27 KB, nested 4,500 levels, as a v2 batch and as a v1 frame.
  ["a v2 batch whose event is nested 4,500 levels (27 KB)", frame("seed-v2", deepBatch(4_500))],
  ["the same batch base64-encoded", frame("seed-v2", Buffer.from(deepBatch(4_500)).toString("base64"), true)],
  ["a frame nested 4,500 levels on a v2 connection", frame("seed-v2", deepObjectText())],
  ["a frame nested 4,500 levels on a v1 connection", frame("seed-v1", deepObjectText())],
  [
    "a v1 message with an extra field nested 4,500 levels",
    frame("seed-v1", JSON.stringify(v1Message()).replace(/}$/, `,"route_name":${deepObjectText()}}`)),
  ],
  // Nesting as deep as fits in an event's 8 KB: arrays 3,900 levels deep.
  [
    "a v2 batch whose event has a field nested 3,900 levels (under 8 KB)",
    frame(
      "seed-v2",
      `{"type":"events","batch_id":"deep-8k","events":[${JSON.stringify(v2Ping({ lat: 0 })).replace(
        '"lat":0',
        `"lat":${deepArrayText(3_900)}`,
      )}]}`,
    ),
  ],
  [
    "a v1 message with an extra field nested 3,900 levels (under 8 KB)",
    frame("seed-v1", JSON.stringify(v1Message()).replace(/}$/, `,"route_name":${deepArrayText(3_900)}}`)),
  ],
  // A megabyte, as a body and as a string in a frame.
  ["a body of 1 MB", frame("seed-v2", MEGABYTE_STRING)],
  [
    "a v1 message with a status of 1 MB",
    frame("seed-v1", JSON.stringify(v1Message({ status: MEGABYTE_STRING }))),
  ],
  // base64 garbage, a body that is not a string, no body.
  ["a body that is not base64 though flagged so", frame("seed-v2", "%%% not base64 ~~~", true)],
  ["a body that is an object", frame("seed-v2", { not: "a string" })],
  ["a null body", frame("seed-v2", null)],
  ["no body", route("$default", "seed-v1")],
  // $connect with garbage headers and keys.
  [
    "$connect with an x-api-key of 1 MB",
    route("$connect", "fuzz-connect", { headers: { "x-api-key": MEGABYTE_STRING } }),
  ],
  [
    "$connect with an empty key and a query key",
    route("$connect", "fuzz-connect", {
      headers: { "X-API-KEY": "" },
      queryStringParameters: { api_key: "x" },
    }),
  ],
  ["$connect with a numeric x-api-key", route("$connect", "fuzz-connect", { headers: { "x-api-key": 42 } })],
  ["$connect with headers as a string", route("$connect", "fuzz-connect", { headers: "x-api-key: nope" })],
  // requestContext missing, empty, or without its required fields.
  ["an event without requestContext", { body: "{}" }],
  ["an empty requestContext", { requestContext: {} }],
  ["a requestContext without connectionId", { requestContext: { routeKey: "$default" }, body: "{}" }],
  ["a requestContext without routeKey", { requestContext: { connectionId: "fuzz-1" }, body: "{}" }],
  ["an empty connectionId", { requestContext: { routeKey: "$default", connectionId: "" }, body: "{}" }],
  ["a null requestContext", { requestContext: null }],
  // A wrong key by frame from a client that closed meanwhile: the @connections API answers 410.
  [
    "a wrong key by frame from a client already gone",
    frame("gone-1", JSON.stringify({ type: "authentication", api_key: "wrong-key" })),
  ],
  // Not an event at all.
  ["null", null],
  ["a string", "$default"],
  ["an array", []],
];

/** An event for a report: strings longer than 120 characters cut short, with their length. */
function summary(event: unknown): string {
  return JSON.stringify(event, (_key, value: unknown) =>
    typeof value === "string" && value.length > 120
      ? `${value.slice(0, 120)}… (${value.length} chars)`
      : value,
  );
}

describe("Venus's API Gateway handler under hostile events (fuzz)", () => {
  let connectionsApi: Awaited<ReturnType<typeof startConnectionsApi>>;
  let env: Record<string, string>;
  let handler: Handler;

  beforeAll(async () => {
    connectionsApi = await startConnectionsApi();
    env = isolatedEnv("embedded", { VENUS_MANAGEMENT_ENDPOINT: connectionsApi.url });
    // Credentials as Lambda's role gives them, for signing the @connections calls.
    const lambda = { AWS_ACCESS_KEY_ID: "fuzz", AWS_SECRET_ACCESS_KEY: "fuzz", AWS_REGION: "us-east-1" };
    for (const [name, value] of Object.entries({ ...env, ...lambda })) vi.stubEnv(name, value);
    vi.resetModules();
    ({ handler } = (await import("#functions/venus/handler.ts")) as { handler: Handler });
    // Two good connections, one per protocol, that must still work after the fuzzing.
    expect(
      await handler(route("$connect", "seed-v2", { headers: { "x-api-key": API_KEY } }), context),
    ).toEqual({
      statusCode: 200,
    });
    expect((await handler(route("$connect", "seed-v1"), context)).statusCode).toBe(200);
    expect(
      (await handler(frame("seed-v1", JSON.stringify({ type: "authentication", api_key: API_KEY })), context))
        .body,
    ).toContain("authenticated");
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await new Promise((resolve) => connectionsApi?.server.close(resolve));
    if (env) rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  });

  /** Runs one event; the response must be well formed whatever the event. */
  async function answers(event: unknown): Promise<void> {
    const outcome = await handler(event, context).then(
      (response) => ({ response }),
      (error: unknown) => ({ error }),
    );
    if ("error" in outcome) {
      const error = outcome.error as Error;
      throw new Error(
        `the handler threw instead of answering: ${error?.name}: ${error?.message?.slice(0, 300)}`,
      );
    }
    const { response } = outcome;
    expect(Object.keys(response).every((key) => key === "statusCode" || key === "body")).toBe(true);
    expect(Number.isInteger(response.statusCode)).toBe(true);
    expect(response.statusCode).toBeGreaterThanOrEqual(200);
    expect(response.statusCode).toBeLessThan(600);
    if (response.body !== undefined) {
      expect(typeof response.body).toBe("string");
      // Every body Venus sends is a JSON object: a reply frame, or the reason for a refusal.
      const parsed = JSON.parse(response.body) as unknown;
      expect(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)).toBe(true);
    }
    // A refusal says why.
    if (response.statusCode >= 400) expect(response.body).toBeDefined();
  }

  it.each(SEEDS)("answers %s with a well-formed response", async (_label, seed) => {
    await answers(seed);
  });

  it("answers a wrong key by frame through the @connections API, then closes the connection", async () => {
    // Act
    const response = await handler(
      frame("fuzz-wrong-key", JSON.stringify({ type: "authentication", api_key: "nope" })),
      context,
    );

    // Assess
    expect(response).toEqual({ statusCode: 200 });
    expect(connectionsApi.calls).toEqual(
      expect.arrayContaining(["POST /@connections/fuzz-wrong-key", "DELETE /@connections/fuzz-wrong-key"]),
    );
  });

  it("answers every arbitrary API Gateway event with a well-formed response", async () => {
    await fc.assert(fc.asyncProperty(apiGatewayEvent, answers), {
      numRuns: 500,
      seed: 20261206,
      examples: SEEDS.map(([, seed]) => [seed]),
      // No shrinking: candidates of a megabyte-long failing value would fill the heap. The first failing
      // event is reported, its long strings cut short.
      endOnFailure: true,
      reporter: (details) => {
        if (!details.failed) return;
        throw new Error(
          `event ${summary(details.counterexample?.[0])} (run ${details.numRuns}, seed ${details.seed}): ${
            details.errorInstance instanceof Error
              ? details.errorInstance.message
              : String(details.errorInstance)
          }`,
        );
      },
    });
  });

  it("keeps the good connections of both protocols working, and stores what they send", async () => {
    // Prepare
    const ping = v2Ping();
    const message = JSON.stringify(v1Message({ status: "completed", current_lat: 37.97911 }));

    // Act
    const v2 = await handler(
      frame("seed-v2", JSON.stringify({ type: "events", batch_id: "after", events: [ping] })),
      context,
    );
    const v1 = await handler(frame("seed-v1", message), context);

    // Assess
    expect(JSON.parse(v2.body!)).toMatchObject({ type: "ack", batch_id: "after", accepted: 1, rejected: 0 });
    expect(JSON.parse(v1.body!)).toMatchObject({ success: true });
    const log = await openEventLog(loadConfig(env));
    const stored = (await readTopic(log, "sessions")).map((record) => record.value!.toString());
    await log.close();
    expect(stored).toContain(message);
    expect(stored.some((value) => value.includes(String(ping.event_id)))).toBe(true);
  });
});
