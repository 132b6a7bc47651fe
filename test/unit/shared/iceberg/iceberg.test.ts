import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CellValue,
  CommitConflictError,
  type DataFile,
  fileSystemCatalog,
  initialSchema,
  localStorage,
  openTable,
  openWarehouse,
  parseIcebergJson,
  readManifest,
  readManifestList,
  stringifyIcebergJson,
} from "#shared/iceberg/index.ts";
import { writeManifest, writeManifestList } from "#shared/iceberg/manifest.ts";
import {
  applyUpdates,
  checkRequirements,
  evolvedSchema,
  newTableMetadata,
} from "#shared/iceberg/metadata.ts";

/** The Iceberg writer's pieces on their own: JSON ids, Avro manifests, commit requirements, the catalog. */

const schema = initialSchema([
  { name: "id", type: "string", required: true },
  { name: "at", type: "timestamptz", required: true },
]);
const spec = {
  "spec-id": 0,
  fields: [{ "source-id": 2, "field-id": 1000, name: "at_day", transform: "day" }],
};

function dataFile(name: string, rows: bigint): DataFile {
  return {
    content: 0,
    filePath: `/w/data/${name}.parquet`,
    fileFormat: "PARQUET",
    partition: { at_day: 19_844 },
    recordCount: rows,
    fileSizeInBytes: 1234n,
    valueCounts: new Map([[1, rows]]),
    nullValueCounts: new Map([[1, 0n]]),
    nanValueCounts: new Map(),
    lowerBounds: new Map([[1, Buffer.from("a")]]),
    upperBounds: new Map([[1, Buffer.from("z")]]),
  };
}

describe("Iceberg metadata JSON", () => {
  it("keeps 64-bit snapshot ids exact through parse and stringify", () => {
    // Prepare
    const text = '{"current-snapshot-id":9007199254740993,"small":42}';

    // Act
    const parsed = parseIcebergJson(text, "test") as { "current-snapshot-id": bigint; small: number };

    // Assess
    expect(parsed["current-snapshot-id"]).toBe(9_007_199_254_740_993n);
    expect(parsed.small).toBe(42);
    expect(stringifyIcebergJson(parsed)).toBe(text);
  });
});

describe("manifests", () => {
  it("round-trip entries with BigInt ids and keep field ids in the Avro header", () => {
    // Prepare
    const entries = [
      {
        status: 1 as const,
        snapshotId: 7_000_000_000_000_000_001n,
        sequenceNumber: null,
        fileSequenceNumber: null,
        dataFile: dataFile("a", 10n),
      },
    ];

    // Act
    const bytes = writeManifest(entries, spec, schema);
    const back = readManifest(bytes, "m.avro");

    // Assess
    expect(back).toEqual(entries);
    const header = bytes.toString("latin1");
    expect(header).toContain('"field-id":2');
    expect(header).toContain("partition-spec");
    expect(header).toContain("format-version");
  });

  it("write a manifest list that reads back with its sequence numbers", () => {
    // Prepare
    const manifest = {
      manifestPath: "/w/metadata/m.avro",
      manifestLength: 99n,
      partitionSpecId: 0,
      content: 0 as const,
      sequenceNumber: 3n,
      minSequenceNumber: 1n,
      addedSnapshotId: 5n,
      addedFilesCount: 1,
      existingFilesCount: 2,
      deletedFilesCount: 0,
      addedRowsCount: 10n,
      existingRowsCount: 20n,
      deletedRowsCount: 0n,
      partitions: [
        {
          containsNull: false,
          containsNan: false,
          lowerBound: Buffer.from([1, 0, 0, 0]),
          upperBound: Buffer.from([2, 0, 0, 0]),
        },
      ],
    };

    // Act
    const back = readManifestList(
      writeManifestList([manifest], { id: 5n, parentId: null, sequenceNumber: 3n }),
      "l.avro",
    );

    // Assess
    expect(back).toEqual([manifest]);
  });
});

describe("commit requirements", () => {
  it("refuse a commit whose base snapshot moved", () => {
    // Prepare
    const base = newTableMetadata({ location: "/w", schema, spec, properties: {} });
    const snapshot = {
      "snapshot-id": 11n,
      "sequence-number": 1n,
      "timestamp-ms": 1,
      "manifest-list": "/l",
      summary: { operation: "append" as const },
    };
    const moved = applyUpdates(base, [
      { action: "add-snapshot", snapshot },
      { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": 11n },
    ]);

    // Act
    const stale = () =>
      checkRequirements(moved, [{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null }]);

    // Assess
    expect(stale).toThrow(CommitConflictError);
    expect(moved["current-snapshot-id"]).toBe(11n);
    expect(moved["last-sequence-number"]).toBe(1n);
  });

  it("evolve a schema by adding only the missing columns as optional, with new ids", () => {
    // Act
    const next = evolvedSchema(schema, 2, 1, [
      { name: "id", type: "string", required: true },
      { name: "extra", type: "double", required: true },
    ]);

    // Assess
    expect(next?.fields.at(-1)).toEqual({ id: 3, name: "extra", type: "double", required: false });
    expect(evolvedSchema(schema, 2, 1, [{ name: "id", type: "string", required: true }])).toBeUndefined();
  });
});

describe("the file-system catalog", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serialises concurrent commits: each wins its own version or is refused as a conflict", async () => {
    // Prepare
    dir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-catalog-"));
    const catalog = fileSystemCatalog(dir, localStorage());
    const id = { namespace: ["default"], name: "t" };
    await catalog.createTable(id, { schema, spec, properties: {} });
    const commit = () =>
      catalog.commit(
        id,
        [{ type: "assert-current-schema-id", "current-schema-id": 0 }],
        [{ action: "set-properties", updates: { writer: String(Math.random()) } }],
      );

    // Act: the same version is claimed by both; a stale base is refused.
    const results = await Promise.allSettled([commit(), commit(), commit()]);
    const loaded = await catalog.loadTable(id);

    // Assess: commits are serialised through v2, v3, v4 or refused as conflicts; never lost silently.
    const won = results.filter((r) => r.status === "fulfilled").length;
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toBeGreaterThanOrEqual(1);
    expect(lost.every((r) => r.status === "rejected" && r.reason instanceof CommitConflictError)).toBe(true);
    expect(loaded?.metadataLocation).toBe(
      path.join(dir, "default", "t", "metadata", `v${1 + won}.metadata.json`),
    );
  });

  it("retries an append whose base moved on the new snapshot, keeping both writers' files", async () => {
    // Prepare: two writers on one table; the first loads the table, then the second commits.
    dir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-catalog-"));
    const warehouse = await openWarehouse({ catalog: "filesystem", warehouse: dir });
    const id = { namespace: ["default"], name: "t" };
    const definition = {
      columns: [{ name: "id", type: "string" as const, required: true }],
      partitionSpec: () => ({ "spec-id": 0, fields: [] }),
    };
    const first = await openTable(warehouse, id, definition);
    const second = await openTable(warehouse, id, definition);
    await second.commit((t) =>
      t.planSnapshot({ operation: "append", added: [dataFile("b", 2n)], summary: {} }),
    );

    // Act: the first writer's plan is on the stale base.
    await first.commit((t) =>
      t.planSnapshot({ operation: "append", added: [dataFile("a", 3n)], summary: {} }),
    );

    // Assess
    expect(first.commitStats).toEqual({ commits: 1, conflicts: 1 });
    await second.refresh();
    const paths = (await second.liveDataFiles()).map((f) => f.dataFile.filePath).sort();
    expect(paths).toEqual(["/w/data/a.parquet", "/w/data/b.parquet"]);
    expect(second.snapshot()?.summary["total-records"]).toBe("5");
    expect(second.metadata.snapshots).toHaveLength(2);
  });
});

describe("data file codecs", () => {
  it("writes Snappy by default (natively here) and GZIP on request, both read back to the same rows", async () => {
    // Prepare
    const { encodeDataFile, nativeSnappy } = await import("#shared/iceberg/index.ts");
    const { parquetMetadata, parquetReadObjects } = await import("hyparquet");
    const { gunzipSync } = await import("node:zlib");
    const ids = Array.from({ length: 2000 }, (_, i) => `event-${i % 50}`);
    const ats = ids.map((_, i) => 1_714_557_075_250_000n + BigInt(i));
    const file = (codec?: "GZIP") =>
      encodeDataFile({
        schema,
        columns: new Map<number, CellValue[]>([
          [1, ids],
          [2, ats],
        ]),
        rowCount: ids.length,
        partition: {},
        location: "/w/t/data/f.parquet",
        codec,
      }).bytes;
    const read = async (bytes: Buffer) => {
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const codecs = parquetMetadata(buffer).row_groups[0]!.columns.map((c) => c.meta_data?.codec);
      const rows = await parquetReadObjects({
        file: buffer,
        compressors: { GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)) },
      });
      return { codecs, rows };
    };

    // Act
    const snappy = await read(file());
    const gzip = await read(file("GZIP"));

    // Assess
    expect(nativeSnappy).toBeTypeOf("function");
    expect(snappy.codecs).toEqual(["SNAPPY", "SNAPPY"]);
    expect(gzip.codecs).toEqual(["GZIP", "GZIP"]);
    expect(snappy.rows).toHaveLength(2000);
    expect(snappy.rows).toEqual(gzip.rows);
    expect(snappy.rows[1999]).toMatchObject({ id: "event-49" });
  });
});
