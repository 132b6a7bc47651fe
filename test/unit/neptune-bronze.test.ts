import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { SessionsRecord } from "#functions/jupiter/kafka-event.ts";
import {
  BronzeEncoder,
  bronzeColumns,
  committedOffsets,
  contractColumns,
  encodeChunk,
  offsetProperties,
  planBins,
  toBronzeRow,
} from "#functions/neptune/index.ts";
import { locationPingSchema } from "#shared/events/index.ts";
import { initialSchema, type LiveDataFile, type Snapshot } from "#shared/iceberg/index.ts";
import { example } from "../helpers/examples.ts";

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

const ping = () => ({ ...example("v2-location-ping"), occurred_at: "2024-05-01T10:00:00Z" });

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
  it("is rejected with the contract's rule when a field is out of range", () => {
    // Act
    const verdict = toBronzeRow(record({ ...ping(), lat: 123 }));

    // Assess
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.issues[0]).toMatchObject({ field: "lat", rule: "range" });
  });

  it("is rejected as invalid when it is not JSON", () => {
    expect(toBronzeRow(record("{nope"))).toMatchObject({ ok: false, issues: [{ rule: "invalid" }] });
  });
});

describe("offsets in snapshot summaries", () => {
  it("carry the base's partitions forward and raise the batch's", () => {
    // Prepare
    const base = {
      summary: {
        operation: "append",
        "packetpulse.offsets.sessions-0": "9",
        "packetpulse.offsets.sessions-1": "4",
      },
    } as unknown as Snapshot;

    // Act
    const next = offsetProperties(base, [record(ping(), 12, 0), record(ping(), 13, 0), record(ping(), 0, 2)]);

    // Assess
    expect(next).toEqual({
      "packetpulse.offsets.sessions-0": "13",
      "packetpulse.offsets.sessions-1": "4",
      "packetpulse.offsets.sessions-2": "0",
    });
    expect(committedOffsets(base).get("sessions-1")).toBe(4);
    expect(committedOffsets(undefined).size).toBe(0);
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
    await encoder.close();

    // Assess
    expect(encoder.threads).toBe(2);
    expect(threaded.rows).toBe(inline.rows);
    expect(threaded.rows).toBe(5999);
    expect(threaded.rejected.map((r) => r.index)).toEqual([4500]);
    expect(threaded.files).toHaveLength(2);
    expect(threaded.files.reduce((sum, f) => sum + f.dataFile.recordCount, 0n)).toBe(5999n);
    expect(Buffer.isBuffer(threaded.files[1]!.bytes)).toBe(true);
    expect(Buffer.isBuffer(threaded.files[1]!.dataFile.lowerBounds.get(1))).toBe(true);
  });
});
