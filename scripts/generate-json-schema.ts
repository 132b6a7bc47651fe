/**
 * Writes the JSON Schemas of the event contract (docs/schemas/*.schema.json) from the zod schemas in
 * shared/events. Run after any contract change: `npm run schemas`. A unit test fails while they differ.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { eventJsonSchemaFiles } from "#shared/events/index.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

for (const file of eventJsonSchemaFiles()) {
  const target = path.join(root, file.path);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, file.content);
  console.log(`wrote ${file.path}`);
}
