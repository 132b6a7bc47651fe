import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { EventSourceConfigError } from "./errors.ts";
import type { KafkaHandler } from "./types.ts";

/**
 * Where a handler's code comes from. `dist` loads the esbuild bundles serverless.yml names
 * (`dist/functions/x/handler.handler` → dist/functions/x/handler.mjs, export `handler`), as serverless
 * offline and AWS do. `source` maps the same name to the TypeScript source (functions/x/handler.ts), for
 * `npm start` under tsx and for tests.
 */
export type HandlerSource = "dist" | "source";

export function handlerModuleCandidates(handler: string, source: HandlerSource, root: string): string[] {
  const dot = handler.lastIndexOf(".");
  const modulePath = handler.slice(0, dot);
  if (source === "dist") {
    return [".mjs", ".js", ".cjs"].map((ext) => path.resolve(root, `${modulePath}${ext}`));
  }
  const withoutDist = modulePath.replace(/^(\.\/)?dist\//, "");
  return [".ts", ".mts", ".mjs", ".js"].map((ext) => path.resolve(root, `${withoutDist}${ext}`));
}

export async function loadHandler(
  handler: string,
  options: { source?: HandlerSource; root?: string } = {},
): Promise<KafkaHandler> {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0)
    throw new EventSourceConfigError(`handler "${handler}" must look like path/to/file.exportName`);
  const exportName = handler.slice(dot + 1);
  const source = options.source ?? "dist";
  const candidates = handlerModuleCandidates(handler, source, options.root ?? process.cwd());
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) {
    const hint = source === "dist" ? " (run `npm run build` first)" : "";
    throw new EventSourceConfigError(
      `No module for handler "${handler}": tried ${candidates.join(", ")}${hint}`,
    );
  }
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = module[exportName];
  if (typeof fn !== "function") {
    throw new EventSourceConfigError(`${file} does not export a function named "${exportName}"`);
  }
  return fn as KafkaHandler;
}
