import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { silverBatchToken, toSilverEvent } from "#functions/jupiter/index.ts";
import { transformSilverChunk } from "#functions/jupiter/silver-transform.ts";
import { splitStatements } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { v1EventId, validateV1 } from "#shared/events/index.ts";
import { decodeKafkaEvent, KafkaEventError, type SessionsRecord } from "#shared/lambda/index.ts";
import { example } from "#test/helpers/examples.ts";

// The documented example, with an upper-case device id (ids are case-insensitive).
const v1Message = { ...example("v1-message"), device_id: "934B40E5-89B9-4513-B11A-4D4EB90C8A2A" };

const record = (value: string, headers: Record<string, string> = {}, offset = 0): SessionsRecord => ({
  topic: "sessions",
  partition: 0,
  offset,
  timestamp: Date.parse("2024-05-01T10:31:16Z"),
  key: null,
  value: Buffer.from(value),
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
});

describe("silverBatchToken", () => {
  it("is the same for the same offset ranges whatever the record order", () => {
    // Prepare
    const a = [record("{}", {}, 5), record("{}", {}, 6), { ...record("{}", {}, 1), partition: 2 }];
    const b = [a[2]!, a[1]!, a[0]!];

    // Act / Assess
    expect(silverBatchToken(a)).toBe(silverBatchToken(b));
    expect(silverBatchToken(a)).not.toBe(silverBatchToken(a.slice(0, 2)));
  });
});

describe("toSilverEvent", () => {
  it("derives the v1 event id when the header is missing, and lowercases ids", () => {
    // Prepare
    const verdict = validateV1(v1Message);
    if (!verdict.ok) throw new Error("example must be valid");

    // Act
    const result = toSilverEvent(record(JSON.stringify(v1Message), { schema_version: "1" }));

    // Assess
    expect(result.ok && result.event.eventId).toBe(v1EventId(verdict.value));
    expect(result.ok && result.event.deviceId).toBe("934b40e5-89b9-4513-b11a-4d4eb90c8a2a");
    expect(result.ok && result.event.occurredAt).toBe(Date.parse("2024-05-01T10:31:15.250Z"));
  });

  it("judges the time window against the record's timestamp, not the consumer's clock", () => {
    // Prepare: 20 minutes after the record was received
    const future = { ...v1Message, timestamp: "2024-05-01T10:51:16Z" };

    // Act
    const result = toSilverEvent(record(JSON.stringify(future), { schema_version: "1" }));

    // Assess
    expect(result.ok ? [] : result.issues.map((i) => i.rule)).toEqual(["timestamp_future"]);
  });

  it("rejects a value that is not JSON with rule invalid", () => {
    // Act
    const result = toSilverEvent(record("{oops", { schema_version: "2" }));

    // Assess
    expect(result).toMatchObject({ ok: false, schemaVersion: 2, issues: [{ field: "", rule: "invalid" }] });
  });

  it.each([
    ["not an id", "not-an-id"],
    ["a CSV field breaker", '","injected","'],
  ])("rejects a v1 message whose event_id header is %s with rule uuid", (_name, eventId) => {
    // Act
    const result = toSilverEvent(
      record(JSON.stringify(v1Message), { schema_version: "1", event_id: eventId }),
    );

    // Assess: the id never reaches a batch's UUID columns.
    expect(result).toMatchObject({
      ok: false,
      schemaVersion: 1,
      issues: [{ field: "event_id", rule: "uuid" }],
    });
  });

  it.each([8.64e15 + 1, 2 ** 63])(
    "rejects a record whose Kafka timestamp %d no date can hold",
    (timestamp) => {
      // Prepare
      const beyond = { ...record(JSON.stringify(v1Message), { schema_version: "1" }), timestamp };

      // Act
      const result = toSilverEvent(beyond);

      // Assess
      expect(result).toMatchObject({ ok: false, issues: [{ field: "", rule: "range" }] });
    },
  );
});

describe("transformSilverChunk", () => {
  it("rejects a record whose check throws, and keeps the others of its chunk", () => {
    // Prepare: a value that throws when read, as an input no rule foresaw would.
    const good = record(JSON.stringify(v1Message), { schema_version: "1" });
    const throwing = {
      ...good,
      value: Object.assign(Buffer.from("{}"), {
        toString: () => {
          throw new RangeError("Maximum call stack size exceeded");
        },
      }),
    };

    // Act
    const chunk = transformSilverChunk([good, throwing, good]);

    // Assess
    expect(chunk.positions).toBe(1);
    expect(chunk.rejected).toEqual([
      {
        index: 1,
        schemaVersion: 2,
        issues: [
          {
            field: "",
            rule: "invalid",
            message: "the record could not be checked (RangeError: Maximum call stack size exceeded)",
          },
        ],
      },
    ]);
  });
});

describe("decodeKafkaEvent", () => {
  it("decodes base64 values and header byte arrays", () => {
    // Prepare
    const event = {
      eventSource: "aws:kafka",
      records: {
        "sessions-1": [
          {
            topic: "sessions",
            partition: 1,
            offset: 7,
            timestamp: 1,
            timestampType: "CREATE_TIME",
            key: Buffer.from("k").toString("base64"),
            value: Buffer.from("{}").toString("base64"),
            headers: [{ schema_version: [50] }],
          },
        ],
      },
    };

    // Act
    const [decoded] = decodeKafkaEvent(event);

    // Assess
    expect(decoded?.value.toString()).toBe("{}");
    expect(decoded?.key?.toString()).toBe("k");
    expect(decoded?.headers.schema_version?.toString()).toBe("2");
  });

  it("throws a KafkaEventError naming the wrong field", () => {
    // Act / Assess
    expect(() =>
      decodeKafkaEvent({ eventSource: "aws:kafka", records: { "s-0": [{ topic: "s" }] } }),
    ).toThrow(KafkaEventError);
  });
});

describe("splitStatements", () => {
  it("splits at semicolons ending a line and drops comment lines", () => {
    // Act / Assess
    expect(
      splitStatements("-- a table\nCREATE TABLE t (x String DEFAULT ';');\n\nCREATE VIEW v AS SELECT 1;\n"),
    ).toEqual(["CREATE TABLE t (x String DEFAULT ';')", "CREATE VIEW v AS SELECT 1"]);
  });
});

describe("clickhouse configuration", () => {
  it("defaults to embedded chDB inside the data folder and switches to a server with CLICKHOUSE_URL", () => {
    // Act
    const embedded = loadConfig({ PACKETPULSE_DATA_DIR: "/srv/pp" }).clickhouse;
    const server = loadConfig({ CLICKHOUSE_URL: "http://ch:8123", CLICKHOUSE_PASSWORD: "s3cret" }).clickhouse;

    // Assess
    expect(embedded).toEqual({ backend: "embedded", path: "/srv/pp/clickhouse", database: "packetpulse" });
    expect(server).toEqual({
      backend: "server",
      url: "http://ch:8123",
      username: "default",
      password: "s3cret",
      database: "packetpulse",
    });
    expect(() => loadConfig({ CLICKHOUSE_DATABASE: "bad-name" })).toThrow(/CLICKHOUSE_DATABASE/);
  });
});

describe("SilverRowsBuilder", () => {
  it("folds events into exactly the rows the reference merge gives, whatever the order, duplicates and ties", async () => {
    // Prepare: Mars days (v2, and v1 from the same events), as silver events.
    const { simulate, toV1 } = await import("#mars/index.ts");
    const { SilverRowsBuilder, positionsCsv, silverRows } = await import("#functions/jupiter/silver-rows.ts");
    const day = (seed: number) => [
      // Many failed and cancelled orders, so every lifecycle column is exercised.
      ...simulate({
        seed,
        sessions: 12,
        startMs: Date.parse("2024-05-01T08:00:00Z"),
        failRate: 0.3,
        cancelRate: 0.2,
      }),
    ];
    const toEvent = (value: object, schemaVersion: string, timestamp: number) => {
      const verdict = toSilverEvent({
        ...record(JSON.stringify(value), { schema_version: schemaVersion }),
        timestamp,
      });
      if (!verdict.ok) throw new Error(JSON.stringify(verdict.issues));
      return verdict.event;
    };
    const pool = [1, 2].flatMap((seed) => {
      const simulated = day(seed);
      const v2 = simulated.map(({ event, atMs }) => toEvent(event, "2", atMs + 700));
      const v1 = [...toV1(simulated.slice(0, 200).map((s) => s.event))].map((m) =>
        toEvent(m, "1", Date.parse(m.timestamp) + 900),
      );
      // Every lifecycle event and a sample of pings: small enough that picks hit the same entity often.
      return [...v2, ...v1].filter((e, i) => e.kind !== "location_ping" || i % 25 === 0);
    });

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(pool.length - 1), { minLength: 1, maxLength: 300 }),
        // Repeats of picked events (by position among the picks), some with another event time.
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -60_000, max: 60_000 })), { maxLength: 80 }),
        fc.integer({ min: 0, max: 3 }),
        async (picks, repeats, tieEvery) => {
          // Some events delivered again (later, or with the same receive time; some with another event time),
          // some sharing one event time.
          const again = repeats.map(([k, shift], n) => {
            const event = pool[picks[k % picks.length]!]!;
            return {
              ...event,
              receivedAt: event.receivedAt + (n % 2) * 1000,
              occurredAt: event.occurredAt + (n % 3 === 0 ? 0 : shift),
            };
          });
          const events = [...picks.map((i) => pool[i]!), ...again].map((event, n) =>
            tieEvery > 0 && n % (tieEvery + 1) === 0 ? { ...event, occurredAt: pool[0]!.occurredAt } : event,
          );

          // Act
          const builder = new SilverRowsBuilder();
          for (const event of events) builder.add(event);
          const reference = silverRows(events);

          // Assess
          // Rows have no order in a table: the same lines, each once.
          const lines = (csv: string) => csv.split("\n").sort();
          expect(lines(builder.positionsCsv().toString("utf8"))).toEqual(
            lines(positionsCsv(reference.session_positions)),
          );
          expect(builder.positions).toBe(reference.session_positions.length);
          expect([...builder.sessions.values()]).toEqual(reference.sessions);
          expect([...builder.orders.values()]).toEqual(reference.orders);
          expect([...builder.vehicles.values()]).toEqual(reference.vehicles);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("transformPackedSilverChunk", () => {
  it("gives exactly what the transform of the same records in memory gives", async () => {
    // Prepare: v2 and v1 records, with and without headers, a non-ASCII reason, a record that is not JSON,
    // one that breaks the contract, and one without a value.
    const { transformPackedSilverChunk, transformSilverChunk } = await import(
      "#functions/jupiter/silver-transform.ts"
    );
    const { packRecords } = await import("#shared/threads/index.ts");
    const { simulate } = await import("#mars/index.ts");
    const simulated = [
      ...simulate({ seed: 5, sessions: 3, startMs: Date.parse("2024-05-01T10:00:00Z"), failRate: 0.5 }),
    ];
    const records: SessionsRecord[] = simulated.slice(0, 150).map(({ event, atMs }, i) => ({
      ...record(
        JSON.stringify(
          event.event_type === "status_changed" ? { ...event, reason: "Ωμέγα ✓ παράδοση" } : event,
        ),
        i % 3 === 0 ? {} : { schema_version: "2", event_id: event.event_id },
        i,
      ),
      timestamp: atMs + 500,
    }));
    records.push(
      record(
        JSON.stringify(v1Message),
        { schema_version: "1", event_id: "b0000000-0000-4000-8000-000000000001" },
        150,
      ),
    );
    records.push(record(JSON.stringify(v1Message), {}, 151));
    records.push(record("{not json", { schema_version: "2" }, 152));
    records.push(record(JSON.stringify({ ...simulated[0]!.event, lat: 123 }), { schema_version: "2" }, 153));
    records.push({ ...record("", {}, 154), value: Buffer.alloc(0) });

    // Act
    const inMemory = transformSilverChunk(records);
    const packed = transformPackedSilverChunk(packRecords(records).packed);

    // Assess
    expect(inMemory.rejected.length).toBeGreaterThanOrEqual(3);
    expect(inMemory.positions).toBeGreaterThan(100);
    expect({ ...packed, positionsCsv: Buffer.from(packed.positionsCsv).toString() }).toEqual({
      ...inMemory,
      positionsCsv: Buffer.from(inMemory.positionsCsv).toString(),
    });
  });
});
