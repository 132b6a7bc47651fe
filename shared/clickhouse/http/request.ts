import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { decompress as lz4Decompress } from "lz4js";
import { clickhouseError, ERROR } from "./errors.ts";

/**
 * A ClickHouse HTTP request as the interface reads it (docs: "HTTP Interface"): the statement from the
 * `query` parameter and/or the body, `param_*` query parameters, settings as other URL parameters, and
 * credentials from X-ClickHouse-User/Key, basic auth or the user/password parameters.
 */
export interface ClickHouseRequest {
  queryId?: string;
  database?: string;
  defaultFormat?: string;
  credentials: { user: string; password: string };
  /** Query parameters with ClickHouse's escaping undone; `null` for `\N`. */
  params: Record<string, string | null>;
  /** Settings from the URL, by name. */
  settings: Record<string, string>;
  /** The `query` parameter, or undefined. */
  queryParameter?: string;
  body: Buffer;
  /** The response may be gzip- or brotli-compressed (enable_http_compression=1 and Accept-Encoding). */
  responseEncoding?: "gzip" | "br" | "deflate";
}

/** URL parameters that are not settings (src/Server/HTTPHandler.cpp's reserved names). */
const RESERVED = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "user",
  "password",
  "quota_key",
  "stacktrace",
  "role",
  "buffer_size",
  "wait_end_of_query",
  "session_id",
  "session_timeout",
  "session_check",
  "compress",
  "decompress",
  "client_protocol_version",
  "close_session",
]);

/** Settings that only the HTTP layer of a server has: they shape the response, never the query. */
const HTTP_ONLY = new Set([
  "enable_http_compression",
  "http_zlib_compression_level",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "http_response_buffer_size",
  "http_wait_end_of_query",
  "cancel_http_readonly_queries_on_client_close",
  "add_http_cors_header",
  "http_write_exception_in_output_format",
  "output_format_parallel_formatting",
]);

/**
 * Undoes the escaping of a query parameter's value: ClickHouse reads it in the TabSeparated escaped form,
 * where `\N` is NULL and `\t`, `\n`, `\\`, `\'` stand for their characters.
 */
export function unescapeParameter(value: string): string | null {
  if (value === "\\N") return null;
  if (!value.includes("\\")) return value;
  const escapes: Record<string, string> = {
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    "0": "\0",
    a: "\x07",
    v: "\v",
  };
  return value.replace(/\\(x[0-9a-fA-F]{2}|.)/gs, (_, c: string) =>
    c.length === 3 ? String.fromCharCode(Number.parseInt(c.slice(1), 16)) : (escapes[c] ?? c),
  );
}

function credentialsOf(req: IncomingMessage, url: URL): { user: string; password: string } {
  const headerUser = req.headers["x-clickhouse-user"];
  if (typeof headerUser === "string") {
    const key = req.headers["x-clickhouse-key"];
    return { user: headerUser, password: typeof key === "string" ? key : "" };
  }
  const authorization = req.headers.authorization;
  if (authorization?.startsWith("Basic ")) {
    const decoded = Buffer.from(authorization.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon === -1
      ? { user: decoded, password: "" }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  // No credentials is ClickHouse's user `default` without a password: refused unless configured.
  return {
    user: url.searchParams.get("user") ?? "default",
    password: url.searchParams.get("password") ?? "",
  };
}

const DECODERS = {
  gzip: promisify(zlib.gunzip),
  "x-gzip": promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
  // clickhouse-connect compresses inserts with LZ4 frames when its lz4 package is there (its default).
  lz4: async (body: Buffer) => {
    const out = lz4Decompress(body);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  },
} as const;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const encoding = req.headers["content-encoding"]?.toLowerCase().trim();
  if (!encoding || encoding === "identity" || raw.length === 0) return raw;
  const decode = DECODERS[encoding as keyof typeof DECODERS];
  if (!decode) {
    throw clickhouseError(
      ERROR.CANNOT_DECOMPRESS,
      `Unsupported Content-Encoding ${JSON.stringify(encoding)}: this server reads gzip, deflate, br and lz4`,
    );
  }
  try {
    return await decode(raw);
  } catch (error) {
    throw clickhouseError(ERROR.CANNOT_DECOMPRESS, `Cannot decompress the ${encoding} request body`, {
      cause: error,
    });
  }
}

export async function readClickHouseRequest(req: IncomingMessage, url: URL): Promise<ClickHouseRequest> {
  const params: Record<string, string | null> = {};
  const settings: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (name.startsWith("param_")) params[name.slice(6)] = unescapeParameter(value);
    else if (!RESERVED.has(name) && !HTTP_ONLY.has(name)) settings[name] = value;
  }
  const headerFormat = req.headers["x-clickhouse-format"];
  const headerDatabase = req.headers["x-clickhouse-database"];
  let responseEncoding: ClickHouseRequest["responseEncoding"];
  if (url.searchParams.get("enable_http_compression") === "1") {
    const accepted = String(req.headers["accept-encoding"] ?? "");
    responseEncoding = /\bgzip\b/.test(accepted)
      ? "gzip"
      : /\bbr\b/.test(accepted)
        ? "br"
        : /\bdeflate\b/.test(accepted)
          ? "deflate"
          : undefined;
  }
  return {
    queryId: url.searchParams.get("query_id") || undefined,
    database:
      url.searchParams.get("database") || (typeof headerDatabase === "string" ? headerDatabase : undefined),
    defaultFormat:
      url.searchParams.get("default_format") || (typeof headerFormat === "string" ? headerFormat : undefined),
    credentials: credentialsOf(req, url),
    params,
    settings,
    queryParameter: url.searchParams.get("query") ?? undefined,
    body: await readBody(req),
    responseEncoding,
  };
}
