import { randomUUID } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { WarehouseStorage } from "./types.ts";

/**
 * A warehouse in a local folder. Files are written to a temporary name and renamed, so a reader never
 * sees half a file; `writeIfAbsent` links the finished temporary file to its name, which fails when the
 * name exists: an atomic create-if-absent, the primitive the file-system catalog commits with.
 */
export function localStorage(): WarehouseStorage {
  const temporary = async (location: string, bytes: Buffer) => {
    await mkdir(path.dirname(location), { recursive: true });
    const tmp = `${location}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    return tmp;
  };
  return {
    kind: "local",
    read: (location) => readFile(location),
    async write(location, bytes) {
      const tmp = await temporary(location, bytes);
      await rename(tmp, location);
    },
    async writeIfAbsent(location, bytes) {
      const tmp = await temporary(location, bytes);
      try {
        await link(tmp, location);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw error;
      } finally {
        await rm(tmp, { force: true });
      }
    },
    async exists(location) {
      try {
        await stat(location);
        return true;
      } catch {
        return false;
      }
    },
    async list(folder) {
      try {
        const entries = await readdir(folder, { recursive: true, withFileTypes: true });
        return entries
          .filter((entry) => entry.isFile())
          .map((entry) => path.join(entry.parentPath, entry.name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
    },
    async delete(location) {
      await rm(location, { force: true });
    },
    async close() {},
  };
}
