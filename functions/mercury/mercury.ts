import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { createRequestHandler } from "@remix-run/architect/dist/server.js";
import type { ServerBuild } from "@remix-run/node";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import type { MercuryContext } from "../../web/server/context.ts";
import { gate, SECURITY_HEADERS } from "../../web/server/gate.ts";

/**
 * Mercury behind API Gateway's HTTP API (payload format 2.0): Remix's Architect adapter turns the event into
 * a Fetch request and the response back. Before Remix, the same gate as the Express server (cross-site
 * writes, 401 for data without a session); the built browser assets are served from the function itself
 * (docs/mercury.md: a larger deployment puts them on S3 behind CloudFront instead).
 */

export type MercuryEvent = APIGatewayProxyEventV2;
export type MercuryResult = APIGatewayProxyStructuredResultV2;

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};
const TEXT = new Set([".js", ".mjs", ".css", ".json", ".svg", ".txt"]);

/** A file of the browser build, or undefined: only names that stay inside the client folder. */
async function staticAsset(clientDir: string, rawPath: string): Promise<MercuryResult | undefined> {
  const extension = path.extname(rawPath);
  const type = CONTENT_TYPES[extension];
  if (!type) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined; // Not a file name (a malformed escape): Remix answers it.
  }
  const file = path.resolve(clientDir, `.${path.posix.normalize(decoded)}`);
  if (!file.startsWith(`${clientDir}${path.sep}`)) return undefined;
  if (!(await stat(file).catch(() => undefined))?.isFile()) return undefined;
  const content = await readFile(file);
  // Vite names the files under /assets/ by their content's hash: they never change.
  const cache = rawPath.startsWith("/assets/")
    ? "public, max-age=31536000, immutable"
    : "public, max-age=3600";
  const binary = !TEXT.has(extension);
  return {
    statusCode: 200,
    headers: { "Content-Type": type, "Cache-Control": cache, ...SECURITY_HEADERS },
    body: content.toString(binary ? "base64" : "utf8"),
    isBase64Encoded: binary,
  };
}

/** The live map's data is read from silver when it is asked for (no feed runs between invocations). */
function readsLiveMap(event: MercuryEvent): boolean {
  return event.rawPath === "/map" && !/(^|&)_data=(?!routes%2Fmap(&|$))/.test(event.rawQueryString);
}

export function mercuryHandler(options: {
  build: ServerBuild;
  clientDir: string;
  open: () => Promise<MercuryContext>;
}): (event: MercuryEvent) => Promise<MercuryResult> {
  // A failed start (SSM or the store unreachable at a cold start) is tried again at the next request.
  const context = lazyStart(options.open);
  const clientDir = path.resolve(options.clientDir);
  // The adapter is typed as a Lambda handler (event, context, callback); it uses the event only.
  const remix = createRequestHandler({
    build: options.build,
    getLoadContext: async () => ({ mercury: await context() }),
  }) as unknown as (event: MercuryEvent) => Promise<MercuryResult>;
  return async (event) => {
    const method = event.requestContext.http.method;
    if (method === "GET" || method === "HEAD") {
      const asset = await staticAsset(clientDir, event.rawPath);
      if (asset) return asset;
    }
    const mercury = await context();
    const headers = event.headers ?? {};
    const refusal = await gate(mercury, {
      method,
      url: new URL(
        `http://mercury.local${event.rawPath}${event.rawQueryString ? `?${event.rawQueryString}` : ""}`,
      ),
      header: (name) =>
        name === "cookie" && event.cookies?.length ? event.cookies.join("; ") : headers[name],
    });
    if (refusal) {
      return {
        statusCode: refusal.status,
        headers: { "Content-Type": refusal.contentType, ...SECURITY_HEADERS },
        body: refusal.body,
      };
    }
    if (mercury.refreshLive && readsLiveMap(event)) await mercury.refreshLive().catch(() => {});
    const result = await remix(event);
    return { ...result, headers: { ...result.headers, ...SECURITY_HEADERS } };
  };
}
