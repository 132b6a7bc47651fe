import { cpSync, rmSync } from "node:fs";
import { build } from "esbuild";

/**
 * Bundles each Lambda handler into dist/functions/<name>/<handler>.mjs. Native and embedded-only modules
 * stay external: better-sqlite3 and chdb belong to the embedded mode and are loaded lazily, never on Lambda;
 * snappy is native and optional (without it, bronze files are compressed by JavaScript Snappy).
 */

export const handlerEntryPoints = [
  "functions/venus/handler.ts",
  "functions/venus/health.ts",
  "functions/jupiter/handler.ts",
  "functions/neptune/handler.ts",
  "functions/neptune/compaction-handler.ts",
  "functions/uranus/handler.ts",
];

export async function buildHandlers(options: { outdir?: string; minify?: boolean } = {}): Promise<void> {
  const outdir = options.outdir ?? "dist";
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: handlerEntryPoints,
    outdir: `${outdir}/functions`,
    outbase: "functions",
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    sourcemap: true,
    minify: options.minify ?? false,
    external: ["better-sqlite3", "chdb", "@chdb/*", "snappy"],
    // Backends are imported lazily; splitting keeps each in its own chunk, loaded only when configured.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    // Bundled CommonJS dependencies (kafkajs, the AWS SDK) call require(); give ESM output one.
    banner: {
      js: "import { createRequire as __ppCreateRequire } from 'node:module'; const require = __ppCreateRequire(import.meta.url);",
    },
    logLevel: "info",
  });
  // Handlers find their SQL migrations next to themselves (new URL("./migrations/", import.meta.url)).
  cpSync("functions/jupiter/migrations", `${outdir}/functions/jupiter/migrations`, { recursive: true });
  // Uranus reads its models and its own migrations the same way (new URL("./models/", import.meta.url)).
  cpSync("functions/uranus/migrations", `${outdir}/functions/uranus/migrations`, { recursive: true });
  cpSync("functions/uranus/models", `${outdir}/functions/uranus/models`, { recursive: true });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildHandlers({ minify: process.argv.includes("--minify") });
}
