import type { BronzeConfig } from "#shared/config/index.ts";
import type { HealthCheck, HealthCheckResult } from "#shared/health/types.ts";
import { deserializeValue, IcebergTable, openWarehouse, type Warehouse } from "#shared/iceberg/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import { PLATFORM_COLUMNS } from "./bronze-schema.ts";

/**
 * What the gold layer and the health model learn about bronze, on either catalog (file system or REST):
 * the newest event time in the table (from the data files' upper bounds of `event_time`, which Neptune's
 * writer records) and whether the catalog answers. Manifests never change once written, so each one is
 * read once and its newest event time kept; a call reads the current manifest list and the new manifests.
 */
export interface BronzeFreshness {
  /** The newest event time in bronze, or null when the table holds no event yet (or does not exist yet). */
  newestEventAt(): Promise<Date | null>;
  /** `bronze-catalog`: failing when the catalog or the table's files cannot be read. */
  healthCheck(): HealthCheck;
  close(): Promise<void>;
}

export function openBronzeFreshness(config: BronzeConfig): BronzeFreshness {
  const id = { namespace: [config.namespace], name: config.table };
  const warehouse = lazyStart(() => openWarehouse(config.warehouse));
  const newestByManifest = new Map<string, bigint | null>();
  let opened: Warehouse | undefined;

  const newestEventAt = async (): Promise<Date | null> => {
    opened = await warehouse();
    const loaded = await opened.catalog.loadTable(id);
    if (!loaded) return null;
    const table = new IcebergTable(opened.catalog, opened.storage, id, loaded);
    const snapshot = table.snapshot();
    if (!snapshot) return null;
    const field = table.schema().fields.find((f) => f.name === PLATFORM_COLUMNS.eventTime.name);
    if (!field) return null;
    let newest: bigint | null = null;
    for (const manifest of await table.readManifestList(snapshot)) {
      if (manifest.content !== 0) continue;
      let inManifest = newestByManifest.get(manifest.manifestPath);
      if (inManifest === undefined) {
        inManifest = null;
        for (const entry of await table.readManifest(manifest.manifestPath)) {
          if (entry.status === 2) continue;
          const bound = entry.dataFile.upperBounds.get(field.id);
          if (!bound) continue;
          const micros = BigInt(deserializeValue("timestamptz", bound));
          if (inManifest === null || micros > inManifest) inManifest = micros;
        }
        newestByManifest.set(manifest.manifestPath, inManifest);
      }
      if (inManifest !== null && (newest === null || inManifest > newest)) newest = inManifest;
    }
    return newest === null ? null : new Date(Number(newest / 1000n));
  };

  return {
    newestEventAt,
    healthCheck: () => ({
      component: "bronze-catalog",
      async check(): Promise<HealthCheckResult> {
        try {
          const newest = await newestEventAt();
          return {
            status: "ok",
            reason: `the ${config.warehouse.catalog === "rest" ? "REST" : "file-system"} catalog answers`,
            facts: { newestEventAt: newest?.toISOString() ?? null },
          };
        } catch (error) {
          return {
            status: "failing",
            reason: `the ${config.warehouse.catalog === "rest" ? "REST" : "file-system"} catalog or the table's files cannot be read`,
            detail: (error as Error).message,
          };
        }
      },
    }),
    async close() {
      await opened?.close();
    },
  };
}
