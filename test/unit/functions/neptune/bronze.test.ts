import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  BronzeBatchBuilder,
  BronzeEncoder,
  bronzeColumns,
  committedOffsets,
  contractColumns,
  encodeChunk,
  offsetProperties,
  planBins,
} from "#functions/neptune/index.ts";
import { locationPingSchema } from "#shared/events/index.ts";
import {
  initialSchema,
  type LiveDataFile,
  type Snapshot,
  type TableMetadata,
} from "#shared/iceberg/index.ts";
import type { SessionsRecord } from "#shared/lambda/index.ts";
import { example } from "#test/helpers/examples.ts";

/** Neptune's pure parts: the contract's columns, record checks, offsets in snapshots, compaction plans. */

function record(value: unknown, offset = 0, partition = 0): SessionsRecord {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return {
    topic: "sessions",
    partition,
    offset,
    timestamp: Date.parse("2024-05-01T10:00:05Z"),
    key: Buffer.from("device"),
    value: Buffer.from(text),
    headers: { schema_version: Buffer.from("2") },
  };
}

const ping = (): Record<string, unknown> => ({
  ...example("v2-location-ping"),
  occurred_at: "2024-05-01T10:00:00Z",
});

describe("the bronze columns", () => {
  it("type every contract field, timestamps as timestamptz", () => {
    // Act
    const columns = new Map(bronzeColumns().map((c) => [c.name, c]));

    // Assess
    expect(columns.get("occurred_at")?.type).toBe("timestamptz");
    expect(columns.get("timestamp")?.type).toBe("timestamptz");
    expect(columns.get("promised_at")?.type).toBe("timestamptz");
    expect(columns.get("lat")?.type).toBe("double");
    expect(columns.get("schema_version")).toMatchObject({ type: "int", required: true });
    expect(columns.get("kafka_offset")).toMatchObject({ type: "long", required: true });
    expect(columns.get("event_time")).toMatchObject({ type: "timestamptz", required: true });
  });

  it("gain a column when the contract gains a field", () => {
    // Act
    const columns = contractColumns([locationPingSchema.extend({ battery_pct: z.number().optional() })]);

    // Assess
    expect(columns.find((c) => c.name === "battery_pct")).toMatchObject({ type: "double", required: false });
  });
});

describe("a sessions record in bronze", () => {
  const builder = () => new BronzeBatchBuilder(initialSchema(bronzeColumns()), 0);

  it("is rejected naming the field whose value does not fit its column", () => {
    // Act
    const verdict = builder().add(record({ ...ping(), lat: "north" }));

    // Assess
    expect(verdict).toMatchObject({ ok: false, schemaVersion: 2, issues: [{ field: "lat", rule: "type" }] });
  });

  it("is rejected with a short reason when the misfit is nested 4,500 deep or a megabyte long", () => {
    // Prepare: text JSON.stringify could not write back (too deep) and a value too long for a header.
    const deep = `${'{"a":'.repeat(4500)}1${"}".repeat(4500)}`;
    const nested = JSON.stringify({ ...ping(), lat: 0 }).replace('"lat":0', `"lat":${deep}`);

    // Act
    const verdicts = [
      builder().add(record(nested)),
      builder().add(record({ ...ping(), lon: "x".repeat(2 ** 20) })),
    ];

    // Assess
    expect(verdicts).toMatchObject([
      {
        ok: false,
        issues: [{ field: "lat", rule: "type", message: "lat must be a number (got an object)" }],
      },
      { ok: false, issues: [{ field: "lon", rule: "type" }] },
    ]);
    expect(verdicts[1]!.ok || verdicts[1]!.issues[0]!.message.length).toBeLessThan(100);
  });

  it("is rejected when its Kafka timestamp is beyond what a date holds", () => {
    // Act
    const verdict = builder().add({ ...record(ping()), timestamp: 2 ** 63 });

    // Assess
    expect(verdict).toMatchObject({ ok: false, issues: [{ field: "", rule: "range" }] });
  });

  it("is rejected when its check throws, and the chunk keeps the others", () => {
    // Prepare: headers that throw when read, as an input no rule foresaw would.
    const throwing = {
      ...record(ping(), 1),
      headers: new Proxy({} as Record<string, Buffer>, {
        get: () => {
          throw new RangeError("Maximum call stack size exceeded");
        },
      }),
    };

    // Act
    const chunk = encodeChunk(
      [record(ping(), 0), throwing, record(ping(), 2)],
      initialSchema(bronzeColumns()),
      "/tmp/t",
      0,
    );

    // Assess
    expect(chunk.rows).toBe(2);
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

  it("is rejected when a required id or its time is missing", () => {
    // Prepare
    const { device_id: _, ...withoutDevice } = ping();

    // Act
    const missingId = builder().add(record(withoutDevice));
    const missingTime = builder().add(record({ ...ping(), occurred_at: "yesterday" }));

    // Assess
    expect(missingId).toMatchObject({ ok: false, issues: [{ field: "device_id", rule: "required" }] });
    expect(missingTime).toMatchObject({ ok: false, issues: [{ field: "occurred_at", rule: "type" }] });
    expect(missingId.ok || missingId.issues.map((i) => i.field)).toEqual(["device_id"]);
  });

  it("is rejected as invalid when it is not JSON, and as not_object when it is not an object", () => {
    expect(builder().add(record("{nope"))).toMatchObject({ ok: false, issues: [{ rule: "invalid" }] });
    expect(builder().add(record("[1,2]"))).toMatchObject({ ok: false, issues: [{ rule: "not_object" }] });
  });

  it("keeps a v1 message with its derived id, type and version, split by day", () => {
    // Prepare
    const b = builder();
    const v1 = { ...example("v1-message"), timestamp: "2024-05-02T10:00:00Z" };
    const v1Record = {
      ...record(v1),
      headers: { schema_version: Buffer.from("1"), event_id: Buffer.from("id-1") },
    };

    // Act
    const verdicts = [b.add(v1Record), b.add(record(ping()))];
    const days = b.byDay();

    // Assess
    expect(verdicts.every((v) => v.ok)).toBe(true);
    expect(days.size).toBe(2);
    const schema = initialSchema(bronzeColumns());
    const id = (name: string) => schema.fields.find((f) => f.name === name)!.id;
    const v1Day = days.get(Math.floor(Date.parse("2024-05-02T10:00:00Z") / 86_400_000))!;
    expect(v1Day.columns.get(id("event_id"))).toEqual(["id-1"]);
    expect(v1Day.columns.get(id("event_type"))).toEqual(["v1_message"]);
    expect(v1Day.columns.get(id("schema_version"))).toEqual([1]);
    expect(v1Day.columns.get(id("timestamp"))).toEqual([BigInt(Date.parse("2024-05-02T10:00:00Z")) * 1000n]);
  });
});

describe("offsets in snapshot summaries", () => {
  const snapshot = (id: bigint, parent: bigint | undefined, summary: Record<string, string>) =>
    ({
      "snapshot-id": id,
      ...(parent === undefined ? {} : { "parent-snapshot-id": parent }),
      summary: { operation: "append", ...summary },
    }) as unknown as Snapshot;
  const metadata = (snapshots: Snapshot[], current: bigint) =>
    ({ snapshots, refs: { main: { "snapshot-id": current, type: "branch" } } }) as unknown as TableMetadata;

  it("carry the table's partitions forward and raise the batch's", () => {
    // Prepare
    const table = metadata(
      [
        snapshot(1n, undefined, {
          "packetpulse.offsets.sessions-0": "9",
          "packetpulse.offsets.sessions-1": "4",
        }),
      ],
      1n,
    );

    // Act
    const next = offsetProperties(table, [
      record(ping(), 12, 0),
      record(ping(), 13, 0),
      record(ping(), 0, 2),
    ]);

    // Assess
    expect(next).toEqual({
      "packetpulse.offsets.sessions-0": "13",
      "packetpulse.offsets.sessions-1": "4",
      "packetpulse.offsets.sessions-2": "0",
    });
    expect(committedOffsets(metadata([], 0n)).size).toBe(0);
  });

  it("are found behind snapshots other engines committed without them", () => {
    // Prepare: Neptune's snapshot 1, then a rewrite by another engine (no offset properties).
    const table = metadata(
      [
        snapshot(1n, undefined, { "packetpulse.offsets.sessions-0": "41" }),
        snapshot(2n, 1n, { operation: "replace" }),
      ],
      2n,
    );

    // Act & Assess
    expect(committedOffsets(table)).toEqual(new Map([["sessions-0", 41]]));
  });
});

describe("compaction plans", () => {
  const file = (size: number) => ({ dataFile: { fileSizeInBytes: BigInt(size) } }) as unknown as LiveDataFile;

  it("pack small files up to the target and leave groups of one alone", () => {
    // Act
    const bins = planBins([file(40), file(30), file(20), file(90)], 100);

    // Assess
    expect(bins.map((b) => b.map((f) => Number(f.dataFile.fileSizeInBytes)))).toEqual([[20, 30, 40]]);
  });
});

describe("the bronze encoder", () => {
  it("gives the same rows and rejections on two threads as on one", async () => {
    // Prepare
    const schema = initialSchema(bronzeColumns());
    const records = Array.from({ length: 6000 }, (_, i) =>
      record(i === 4500 ? "{broken" : { ...ping(), event_id: crypto.randomUUID() }, i),
    );
    const encoder = new BronzeEncoder(2);

    // Act
    const threaded = await encoder.encode(records, schema, "/w/t", 1);
    const inline = encodeChunk(records, schema, "/w/t", 1);
    const threads = encoder.threads;
    await encoder.close();

    // Assess
    expect(threads).toBe(2);
    expect(threaded.rows).toBe(inline.rows);
    expect(threaded.rows).toBe(5999);
    expect(threaded.rejected.map((r) => r.index)).toEqual([4500]);
    expect(threaded.files).toHaveLength(2);
    expect(threaded.files.reduce((sum, f) => sum + f.dataFile.recordCount, 0n)).toBe(5999n);
    expect(Buffer.isBuffer(threaded.files[1]!.bytes)).toBe(true);
    expect(Buffer.isBuffer(threaded.files[1]!.dataFile.lowerBounds.get(1))).toBe(true);
  });
});
