import path from "node:path";
import { CommitConflictError, IcebergError, TableNotFoundError } from "../errors.ts";
import {
  applyUpdates,
  checkRequirements,
  newTableMetadata,
  parseTableMetadata,
  serialiseTableMetadata,
} from "../metadata.ts";
import type { WarehouseStorage } from "../storage/types.ts";
import type { TableIdentifier, TableMetadata } from "../types.ts";
import type { IcebergCatalog, LoadedTable } from "./types.ts";

/**
 * A catalog kept in the warehouse folder itself, in the layout of Iceberg's Hadoop catalog (which DuckDB,
 * ClickHouse's icebergLocal and pyiceberg's StaticTable read): `<warehouse>/<namespace>/<table>/metadata/
 * v<N>.metadata.json` plus `version-hint.text` naming N.
 *
 * Commit protocol: the new metadata is created as v<N+1> with an atomic create-if-absent (a hard link,
 * which fails when the name exists). Two writers committing on the same base race for the same name and
 * exactly one wins; the other gets a CommitConflictError and retries on v<N+1>. The hint is then replaced
 * atomically (rename); readers also look past it for a newer version, so a crash between the two steps
 * loses nothing.
 */
export function fileSystemCatalog(warehouse: string, storage: WarehouseStorage): IcebergCatalog {
  if (storage.kind !== "local") {
    throw new IcebergError(
      "the file-system catalog needs a local warehouse: use an Iceberg REST catalog (ICEBERG_REST_URL) for S3",
    );
  }
  const tableLocation = (id: TableIdentifier) => path.join(warehouse, ...id.namespace, id.name);
  const metadataFile = (id: TableIdentifier, version: number) =>
    path.join(tableLocation(id), "metadata", `v${version}.metadata.json`);
  const hintFile = (id: TableIdentifier) => path.join(tableLocation(id), "metadata", "version-hint.text");

  const currentVersion = async (id: TableIdentifier): Promise<number | undefined> => {
    let version: number | undefined;
    try {
      const hint = Number((await storage.read(hintFile(id))).toString("utf8").trim());
      if (Number.isInteger(hint) && hint > 0) version = hint;
    } catch {
      // No hint yet: list the metadata folder instead.
    }
    if (version === undefined) {
      const versions = (await storage.list(path.join(tableLocation(id), "metadata")))
        .map((file) => /[/\\]v(\d+)\.metadata\.json$/.exec(file)?.[1])
        .filter((v): v is string => v !== undefined)
        .map(Number);
      if (versions.length === 0) return undefined;
      version = Math.max(...versions);
    }
    while (await storage.exists(metadataFile(id, version + 1))) version++;
    return version;
  };

  const load = async (id: TableIdentifier): Promise<(LoadedTable & { version: number }) | undefined> => {
    const version = await currentVersion(id);
    if (version === undefined) return undefined;
    const location = metadataFile(id, version);
    const metadata = parseTableMetadata((await storage.read(location)).toString("utf8"), location);
    return { metadataLocation: location, metadata, version };
  };

  /** Writes v<version> if nobody did; false when another writer won that version. */
  const publish = async (id: TableIdentifier, version: number, metadata: TableMetadata) => {
    const location = metadataFile(id, version);
    if (!(await storage.writeIfAbsent(location, Buffer.from(serialiseTableMetadata(metadata))))) return false;
    await storage.write(hintFile(id), Buffer.from(String(version)));
    return true;
  };

  return {
    kind: "filesystem",
    async loadTable(id) {
      const loaded = await load(id);
      return loaded && { metadataLocation: loaded.metadataLocation, metadata: loaded.metadata };
    },
    async createTable(id, request) {
      const existing = await load(id);
      if (existing) return existing;
      const metadata = newTableMetadata({ location: tableLocation(id), ...request });
      if (await publish(id, 1, metadata)) return { metadataLocation: metadataFile(id, 1), metadata };
      const winner = await load(id);
      if (!winner)
        throw new IcebergError(`table ${id.namespace.join(".")}.${id.name} vanished while created`);
      return winner;
    },
    async commit(id, requirements, updates) {
      const base = await load(id);
      if (!base) throw new TableNotFoundError(`table ${[...id.namespace, id.name].join(".")} does not exist`);
      checkRequirements(base.metadata, requirements);
      const next = applyUpdates(base.metadata, updates);
      next["metadata-log"] = [
        ...(base.metadata["metadata-log"] ?? []),
        { "metadata-file": base.metadataLocation, "timestamp-ms": base.metadata["last-updated-ms"] },
      ].slice(-100);
      if (!(await publish(id, base.version + 1, next))) {
        throw new CommitConflictError(`another writer committed version ${base.version + 1} first`);
      }
      return { metadataLocation: metadataFile(id, base.version + 1), metadata: next };
    },
    close: () => storage.close(),
  };
}
