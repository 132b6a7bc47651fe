import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { type BuildOptions, build, type Plugin } from "esbuild";

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

/** Mercury's handler is bundled on its own (its chunks beside it): its zip holds the dashboard and nothing else. */
export const mercuryEntryPoint = "functions/mercury/handler.ts";

const WEB = "web";
const WEB_SERVER_BUILD = path.resolve(WEB, "build", "server", "index.js");

/** The newest modification time of the files under a folder. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** `remix vite:build web`, unless the build is newer than every file of the app and of its server code. */
export function buildWeb(): void {
  const sources = Math.max(newest(path.join(WEB, "app")), statSync(path.join(WEB, "vite.config.ts")).mtimeMs);
  if (existsSync(WEB_SERVER_BUILD) && statSync(WEB_SERVER_BUILD).mtimeMs > sources) return;
  const cli = path.resolve("node_modules", "@remix-run", "dev", "dist", "cli.js");
  const result = spawnSync(process.execPath, [cli, "vite:build", WEB], { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`Mercury's build failed (remix vite:build ${WEB})`);
}

/** Mercury's handler imports `virtual:mercury/server-build`: the Remix server build, bundled in. */
const mercuryServerBuild: Plugin = {
  name: "mercury-server-build",
  setup(esbuild) {
    esbuild.onResolve({ filter: /^virtual:mercury\/server-build$/ }, () => ({ path: WEB_SERVER_BUILD }));
  },
};

export async function buildHandlers(options: { outdir?: string; minify?: boolean } = {}): Promise<void> {
  const outdir = options.outdir ?? "dist";
  buildWeb();
  rmSync(outdir, { recursive: true, force: true });
  const common: BuildOptions = {
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    sourcemap: true,
    external: ["better-sqlite3", "chdb", "@chdb/*", "snappy"],
    // Backends are imported lazily; splitting keeps each in its own chunk, loaded only when configured.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    // Bundled CommonJS dependencies (kafkajs, the AWS SDK) call require(); give ESM output one.
    banner: {
      js: "import { createRequire as __ppCreateRequire } from 'node:module'; const require = __ppCreateRequire(import.meta.url);",
    },
    logLevel: "info",
  };
  await build({
    ...common,
    entryPoints: [mercuryEntryPoint],
    outdir: `${outdir}/functions/mercury`,
    // React, Remix and the pages' server code are most of it: minified, the zip stays small.
    minify: true,
    plugins: [mercuryServerBuild],
    // Remix's server entry looks for isbot's default export before its named one; both are handled.
    logOverride: { "import-is-undefined": "silent" },
  });
  // Mercury serves the browser build from its own zip (docs/mercury.md: S3 + CloudFront at scale).
  cpSync(path.join(WEB, "build", "client"), `${outdir}/functions/mercury/client`, { recursive: true });
  await build({
    ...common,
    entryPoints: handlerEntryPoints,
    outdir: `${outdir}/functions`,
    outbase: "functions",
    minify: options.minify ?? false,
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
