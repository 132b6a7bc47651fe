import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  bronzeColumns,
  bronzePartitionSpec,
  contractColumns,
  PARTITION_FIELD,
  partitionPath,
} from "#functions/neptune/index.ts";
import {
  locationPingSchema,
  sessionStartedSchema,
  statusChangedSchema,
  v1MessageSchema,
} from "#shared/events/index.ts";
import {
  type CellValue,
  dataFileName,
  encodeDataFile,
  openTable,
  openWarehouse,
} from "#shared/iceberg/index.ts";
import { chdbQuery, pyicebergReadMetadata } from "#test/helpers/neptune-readers.ts";

/**
 * Schema evolution: a field added to the event contract becomes a column of the existing bronze table
 * without rewriting its data; files written before read the new column as null in every reader.
 */

describe("the bronze table when the contract gains a field", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-neptune-evolution-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("gains the column; old files still read, with null in it", async () => {
    // Prepare: the table as today's contract defines it, with one file.
    const warehouse = await openWarehouse({
      catalog: "filesystem",
      warehouse: path.join(dataDir, "warehouse"),
    });
    const id = { namespace: ["default"], name: "sessions" };
    const definition = { columns: bronzeColumns(), partitionSpec: bronzePartitionSpec };
    const table = await openTable(warehouse, id, definition);
    const day = Math.floor(Date.parse("2024-05-01T10:00:00Z") / 86_400_000);
    const write = async (extra: Record<string, CellValue> = {}) => {
      const schema = table.schema();
      const value = (name: string): CellValue => {
        if (name in extra) return extra[name]!;
        const field = schema.fields.find((f) => f.name === name)!;
        if (field.type === "timestamptz") return BigInt(Date.parse("2024-05-01T10:00:00Z")) * 1000n;
        if (field.type === "int") return name === "schema_version" ? 2 : 0;
        if (field.type === "long") return 1n;
        return field.required ? `${name}-value` : null;
      };
      const columns = new Map(schema.fields.map((f) => [f.id, [value(f.name)]]));
      const { bytes, dataFile } = encodeDataFile({
        schema,
        columns,
        rowCount: 1,
        partition: { [PARTITION_FIELD]: day },
        location: table.dataPath(partitionPath(day), dataFileName()),
      });
      await warehouse.storage.write(dataFile.filePath, bytes);
      await table.commit((t) => t.planSnapshot({ operation: "append", added: [dataFile], summary: {} }));
      return dataFile.filePath;
    };
    const oldFile = await write({ event_id: "old" });
    const oldBytes = await warehouse.storage.read(oldFile);

    // Act: the contract gains `battery_pct` on location_ping; the next open evolves the table.
    const evolvedPing = locationPingSchema.extend({ battery_pct: z.number().min(0).max(100).optional() });
    const contract = contractColumns([
      sessionStartedSchema,
      evolvedPing,
      statusChangedSchema,
      v1MessageSchema,
    ]);
    const evolved = await openTable(warehouse, id, { ...definition, columns: bronzeColumns(contract) });
    const before = table.metadata["last-column-id"];
    await table.refresh();
    await write({ event_id: "new", battery_pct: 42.5 });

    // Assess: one more column, an id after every other, optional; the old file untouched.
    const added = evolved.schema().fields.find((f) => f.name === "battery_pct")!;
    expect(added).toMatchObject({ id: before + 1, type: "double", required: false });
    expect(evolved.metadata.schemas).toHaveLength(2);
    expect(await warehouse.storage.read(oldFile)).toEqual(oldBytes);
    // Assess: pyiceberg and ClickHouse read both files, the old one with null in the new column.
    const read = await pyicebergReadMetadata(table.metadataLocation, ["event_id", "battery_pct"]);
    expect(read.schema).toContain(`${added.id}:battery_pct:double:optional`);
    expect(read.rows.sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)))).toEqual([
      { event_id: "new", battery_pct: 42.5 },
      { event_id: "old", battery_pct: null },
    ]);
    const viaClickHouse = await chdbQuery(
      `SELECT event_id, battery_pct FROM icebergLocal('${table.location}') ORDER BY event_id`,
      dataDir,
    );
    expect(viaClickHouse).toEqual([
      { event_id: "new", battery_pct: 42.5 },
      { event_id: "old", battery_pct: null },
    ]);
    await warehouse.close();
  }, 120_000);
});
