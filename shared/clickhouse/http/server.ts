import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { ChdbResult } from "chdb";
import type { ClickHouseHttpConfig } from "#shared/config/index.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { clickhouseError, ERROR, errorBody, fromEngineError, httpStatusOf } from "./errors.ts";
import { type ClickHouseRequest, readClickHouseRequest } from "./request.ts";
import { openSessions, SessionPool, type StoreSession, settingLiteral } from "./sessions.ts";
import {
  formatClauseOf,
  type InsertWithData,
  insertWithDataOf,
  isMultiStatement,
  killByQueryIdOf,
  kindOf,
  maskStatement,
  settingsAssigned,
} from "./statement.ts";

/**
 * ClickHouse's HTTP interface over the embedded store, served by the process that owns its data folder
 * (chDB binds a folder to one process and has no server of its own). Anything that speaks the protocol
 * works against it as against a ClickHouse server: `@clickhouse/client`, clickhouse-connect, curl, DBeaver,
 * Grafana. What it serves and how: docs/sql.md and docs/decisions/021-clickhouse-http-interface.md.
 */
export interface ClickHouseHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ClickHouseHttpOptions {
  /** The embedded store's folder (the platform's `<data folder>/clickhouse`). */
  path: string;
  /** Database a request without `database` uses (the platform's, so `SELECT ... FROM sessions` works). */
  database: string;
  http: ClickHouseHttpConfig;
}

/** Defaults of a ClickHouse server that chDB has otherwise (see settings.ts); every session starts from them. */
const SERVER_DEFAULTS = { async_insert: 0, output_format_json_quote_64bit_integers: 1 } as const;

/** Text formats chDB takes as bytes for an insert (its RawInsertFormat). */
const RAW_INSERT_FORMATS = new Set([
  "JSONEachRow",
  "JSONCompactEachRow",
  "CSV",
  "CSVWithNames",
  "TSV",
  "TabSeparated",
  "TSVWithNames",
  "TabSeparatedWithNames",
]);

/** Input formats that are text: their rows can follow the statement in one string. */
const TEXT_FORMAT =
  /^(JSON|CSV|TSV|TabSeparated|Values|Template|CustomSeparated|Regexp|LineAsString|Markdown)/i;

const CONTENT_TYPES: [RegExp, string][] = [
  [/^(TabSeparated|TSV)/i, "text/tab-separated-values; charset=UTF-8"],
  [/^CSV/i, "text/csv; charset=UTF-8; header=absent"],
  [/^JSON/i, "application/json; charset=UTF-8"],
  [/^(Pretty|Vertical|Markdown|Values|LineAsString)/i, "text/plain; charset=UTF-8"],
  [/^XML/i, "application/xml; charset=UTF-8"],
];

const COMPRESSORS = {
  gzip: promisify(zlib.gzip),
  br: promisify(zlib.brotliCompress),
  deflate: promisify(zlib.deflate),
} as const;

type Role = "writer" | "reader";

/** Table functions over files, URLs, object stores, other databases and programs. */
const OUTSIDE_TABLE_FUNCTION =
  /\b(file|fileCluster|url|urlCluster|s3|s3Cluster|gcs|hdfs|hdfsCluster|azureBlobStorage|azureBlobStorageCluster|remote|remoteSecure|cluster|clusterAllReplicas|mysql|postgresql|sqlite|mongodb|redis|jdbc|odbc|executable|iceberg\w*|deltaLake\w*|hudi\w*|paimon\w*|arrowFlight|ytsaurus|python)\s*\(/i;

interface RunningQuery {
  user: string;
  marker: string;
  done: Promise<void>;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

export async function startClickHouseHttp(options: ClickHouseHttpOptions): Promise<ClickHouseHttpServer> {
  const { http: config } = options;
  const limits = config.reader.limits;
  const writers = new SessionPool(await openSessions(options.path, 2, { ...SERVER_DEFAULTS }));
  // The reader's sessions: its limits, then readonly=2, which no later statement can undo. readonly=2
  // refuses writes and DDL as readonly=1 does, and lets tools change format settings as they do; the
  // limits are guarded here (a request may lower them, never raise them), as settings constraints would.
  const readers = new SessionPool(
    await openSessions(options.path, 2, { ...SERVER_DEFAULTS, ...limits }, ["SET readonly = 2"]),
  );
  // KILL QUERY runs here: the sessions above may all be busy with the queries to kill.
  const control = (await openSessions(options.path, 1, {}))[0]!;
  const engineVersion = (await control.session.queryAsync("SELECT version()", { format: "TSV" }))
    .text()
    .trim();
  // Requests without `database` use the platform's, which must exist before the first USE.
  await control.session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(options.database)}`);
  const running = new Map<string, RunningQuery>();

  const users = new Map<string, { role: Role; password: Buffer }>([
    [config.writer.name, { role: "writer", password: digest(config.writer.password) }],
    [config.reader.name, { role: "reader", password: digest(config.reader.password) }],
  ]);

  function authenticate({ user, password }: ClickHouseRequest["credentials"]): Role {
    const known = users.get(user);
    // Compared as digests, in constant time, whether or not the user exists.
    const given = digest(password);
    if (!known || !timingSafeEqual(given, known.password)) {
      throw clickhouseError(
        ERROR.AUTHENTICATION_FAILED,
        `${user}: Authentication failed: password is incorrect, or there is no user with such name`,
      );
    }
    return known.role;
  }

  async function kill(marker: string): Promise<void> {
    await control.session.queryAsync(
      `KILL QUERY WHERE Settings['log_comment'] = ${settingLiteral(marker)} ASYNC`,
      { format: "TSV" },
    );
  }

  async function handleQuery(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const request = await readClickHouseRequest(req, url);
    const role = authenticate(request.credentials);
    const queryId = request.queryId ?? randomUUID();

    // The statement: the `query` parameter followed by the body, or the body alone. Rows come in the body
    // after an `INSERT ... FORMAT X` in the parameter, or after the first line of a body that is one.
    let sql: string;
    let data: Buffer | undefined;
    const fromParameter = request.queryParameter;
    if (fromParameter !== undefined) {
      if (request.body.length > 0 && insertWithDataOf(fromParameter, maskStatement(fromParameter))) {
        sql = fromParameter;
        data = request.body;
      } else
        sql = request.body.length > 0 ? `${fromParameter}\n${request.body.toString("utf8")}` : fromParameter;
    } else {
      const newline = request.body.indexOf(10);
      const head = request.body.subarray(0, newline === -1 ? request.body.length : newline).toString("utf8");
      const insert = insertWithDataOf(head, maskStatement(head));
      if (insert && newline !== -1) {
        sql = head;
        data = request.body.subarray(newline + 1);
      } else sql = request.body.toString("utf8");
    }
    const masked = maskStatement(sql);
    if (sql.trim() === "") throw clickhouseError(ERROR.SYNTAX_ERROR, "Empty query");
    if (isMultiStatement(masked))
      throw clickhouseError(ERROR.SYNTAX_ERROR, "Multi-statements are not allowed");
    const kind = kindOf(masked);

    // GET and readonly requests are read-only, as on a server; the reader always is.
    const readOnly = role === "reader" || req.method === "GET" || (request.settings.readonly ?? "0") !== "0";
    delete request.settings.readonly;
    if (readOnly) guardLimits(request.settings, masked, sql);

    const format = formatClauseOf(masked) ?? request.defaultFormat ?? "TabSeparated";
    const headers: Record<string, string> = {
      "X-ClickHouse-Query-Id": queryId,
      "X-ClickHouse-Format": format,
      "X-ClickHouse-Timezone": "UTC",
      "X-ClickHouse-Server-Display-Name": "packetpulse",
      "Content-Type":
        CONTENT_TYPES.find(([pattern]) => pattern.test(format))?.[1] ?? "application/octet-stream",
    };

    // Statements that hold nothing for a request without a session: SET and USE apply to that request
    // alone, which has nothing else to run, as on a server.
    if (kind === "set" || kind === "use") {
      await respond(res, request, headers, Buffer.alloc(0), summary(0, 0, 0, 0, 0));
      return;
    }
    if (kind === "kill") {
      const result = await killQuery(sql, request.credentials.user, role, format);
      await respond(res, request, headers, result, summary(0, 0, 0, 0, 0));
      return;
    }
    // The engine runs in this process: a file it writes or reads, or a connection it opens, is this
    // process's. A server refuses INTO OUTFILE over HTTP; a read-only user has no grant for table
    // functions that reach files or the network.
    if (/\bINTO\s+OUTFILE\b/i.test(masked)) {
      throw clickhouseError(ERROR.NOT_IMPLEMENTED, "INTO OUTFILE is not allowed over HTTP");
    }
    const outside = readOnly ? OUTSIDE_TABLE_FUNCTION.exec(masked) : null;
    if (outside) {
      throw clickhouseError(
        ERROR.ACCESS_DENIED,
        `${request.credentials.user}: Not enough privileges: table function ${outside[1]}() reaches files or the network, which a read-only user may not`,
      );
    }
    if (readOnly && kind !== "read") {
      throw clickhouseError(
        ERROR.READONLY,
        `${request.credentials.user}: Cannot execute query in readonly mode`,
      );
    }

    if (running.has(queryId)) {
      throw clickhouseError(
        ERROR.QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING,
        `Query with id = ${queryId} is already running`,
      );
    }
    const marker = `http:${queryId}`;
    let finish: () => void = () => {};
    const entry: RunningQuery = {
      user: request.credentials.user,
      marker,
      done: new Promise((resolve) => {
        finish = resolve;
      }),
    };
    running.set(queryId, entry);
    // A client that goes away stops its query, as a server cancels a query whose connection closed.
    const onClose = () => {
      if (!res.writableFinished) void kill(marker).catch(() => {});
    };
    res.on("close", onClose);
    const pool = readOnly ? readers : writers;
    const session = await pool.acquire();
    try {
      // The client left while the request waited for a session.
      if (res.destroyed) return;
      const prefix = prefixOf(session, request, marker);
      // Until the prefix is known to have run, any of these may be set.
      for (const name of Object.keys(request.settings)) session.changed.add(name);
      const insert = data !== undefined ? insertWithDataOf(sql, masked) : undefined;
      let result: { bytes: Buffer; rowsRead: number; bytesRead: number; written: number; elapsed: number };
      if (insert && data !== undefined) result = await runInsert(session, prefix, insert, data);
      else {
        const text = `${prefix}${sql}`;
        const out: ChdbResult =
          Object.keys(request.params).length > 0
            ? await session.session.queryBindAsync(text, request.params, { format })
            : await session.session.queryAsync(text, { format });
        const bytes = out.bytes();
        result = {
          bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          rowsRead: out.rowsRead,
          bytesRead: out.bytesRead,
          written: kind === "insert" ? out.rowsRead : 0,
          elapsed: out.elapsed,
        };
      }
      session.database = request.database ?? options.database;
      session.changed = new Set(Object.keys(request.settings));
      const rows = kind === "read" ? result.rowsRead : 0;
      await respond(
        res,
        request,
        headers,
        result.bytes,
        summary(result.rowsRead, result.bytesRead, result.written, rows, result.elapsed),
      );
    } catch (error) {
      session.database = undefined;
      // A cancelled statement can leave part of its output in chDB's session, where the next statement's
      // result would begin with it: a throw-away statement takes it.
      await session.session.queryAsync("SELECT 1", { format: "TSV" }).catch(() => {});
      throw error;
    } finally {
      res.off("close", onClose);
      running.delete(queryId);
      finish();
      pool.release(session);
    }
  }

  /**
   * USE and SET before the statement, in the same call: the request's database, settings and marker, and
   * the settings the previous request on this session changed put back (its baseline value, or the
   * engine's default) — put back here rather than after that request, which saves a call per request.
   */
  function prefixOf(session: StoreSession, request: ClickHouseRequest, marker: string): string {
    const database = request.database ?? options.database;
    const use = session.database === database ? "" : `USE ${quoteIdentifier(database)}; `;
    const assignments = [`log_comment = ${settingLiteral(marker)}`];
    for (const name of session.changed) {
      if (name in request.settings) continue;
      assignments.push(
        name in session.baseline
          ? `${name} = ${settingLiteral(session.baseline[name]!)}`
          : `${name} = DEFAULT`,
      );
    }
    for (const [name, value] of Object.entries(request.settings)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw clickhouseError(ERROR.UNKNOWN_SETTING, `Unknown setting '${name}'`);
      }
      assignments.push(`${name} = ${settingLiteral(value)}`);
    }
    return `${use}SET ${assignments.join(", ")}; `;
  }

  async function runInsert(session: StoreSession, prefix: string, insert: InsertWithData, data: Buffer) {
    const began = performance.now();
    if (RAW_INSERT_FORMATS.has(insert.format) && insert.table !== "") {
      // The rows go to chDB as bytes, parsed by ClickHouse's own parser (no JavaScript string).
      if (prefix !== "") await session.session.queryAsync(prefix.replace(/;\s*$/, ""));
      const written = await session.session.insert({
        table: insert.table,
        columns: insert.columns,
        format: insert.format as "CSV",
        values: data,
      });
      return {
        bytes: Buffer.alloc(0),
        rowsRead: written.rowsWritten,
        bytesRead: written.bytesWritten,
        written: written.rowsWritten,
        elapsed: written.elapsed,
      };
    }
    // Other formats: text follows the statement; binary rows (Native, RowBinary, Parquet ...) are read
    // with the format() table function from a literal, every byte escaped.
    const statement = TEXT_FORMAT.test(insert.format)
      ? `INSERT INTO ${insert.target} FORMAT ${insert.format}\n${data.toString("utf8")}`
      : `INSERT INTO ${insert.target} SELECT * FROM format(${insert.format}, '${escapeBytes(data)}')`;
    const out = await session.session.queryAsync(`${prefix}${statement}`, { format: "TSV" });
    return {
      bytes: Buffer.alloc(0),
      rowsRead: out.rowsRead,
      bytesRead: out.bytesRead,
      written: out.rowsRead,
      elapsed: (performance.now() - began) / 1000,
    };
  }

  /**
   * KILL QUERY WHERE query_id = '…': the query ids are the clients' (chDB has its own), so the query is
   * found by the marker its request set. The reader may stop its own queries only.
   */
  async function killQuery(sql: string, user: string, role: Role, format: string): Promise<Buffer> {
    const kill = killByQueryIdOf(sql);
    if (!kill) {
      throw clickhouseError(
        ERROR.ACCESS_DENIED,
        `${user}: this server runs KILL QUERY WHERE query_id = '…' only (the query ids its clients gave)`,
      );
    }
    const target = running.get(kill.queryId);
    if (!target || (role === "reader" && target.user !== user)) return Buffer.alloc(0);
    if (kill.mode !== "TEST") {
      // ASYNC always: chDB's KILL ... SYNC waits for ever on the session it runs on.
      await control.session.queryAsync(
        `KILL QUERY WHERE Settings['log_comment'] = ${settingLiteral(target.marker)} ASYNC`,
        { format: "TSV" },
      );
      if (kill.mode === "SYNC") await Promise.race([target.done, sleep(30_000)]);
    }
    const row = {
      kill_status: kill.mode === "SYNC" ? "finished" : "waiting",
      query_id: kill.queryId,
      user: target.user,
    };
    if (/^JSONEachRow$/i.test(format)) return Buffer.from(`${JSON.stringify(row)}\n`);
    return Buffer.from(`${row.kill_status}\t${row.query_id}\t${row.user}\n`);
  }

  function guardLimits(settings: Record<string, string>, masked: string, sql: string): void {
    const check = (name: string, value: string) => {
      const limit = limits[name as keyof typeof limits];
      const asked = Number(value.replace(/^'|'$/g, ""));
      if (!(asked > 0 && asked <= limit)) {
        throw clickhouseError(
          ERROR.SETTING_CONSTRAINT_VIOLATION,
          `Setting ${name} shouldn't be greater than ${limit} (nor 0) for this user`,
        );
      }
    };
    for (const name of Object.keys(limits)) if (settings[name] !== undefined) check(name, settings[name]!);
    for (const [name, value] of settingsAssigned(masked, sql, Object.keys(limits))) check(name, value);
  }

  async function respond(
    res: ServerResponse,
    request: ClickHouseRequest,
    headers: Record<string, string>,
    body: Buffer,
    summaryHeader: string,
  ): Promise<void> {
    let payload = body;
    if (request.responseEncoding && body.length > 0) {
      payload = await COMPRESSORS[request.responseEncoding](body);
      headers["Content-Encoding"] = request.responseEncoding;
    }
    res.writeHead(200, {
      ...headers,
      "X-ClickHouse-Summary": summaryHeader,
      "Content-Length": payload.length,
    });
    res.end(payload);
  }

  function fail(res: ServerResponse, error: unknown): void {
    const failure = fromEngineError(error);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = errorBody(failure, engineVersion);
    res.writeHead(httpStatusOf(failure.code), {
      "Content-Type": "text/plain; charset=UTF-8",
      "X-ClickHouse-Exception-Code": String(failure.code),
      "X-ClickHouse-Server-Display-Name": "packetpulse",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/ping" || url.pathname === "/replicas_status") {
      res.writeHead(200, { "Content-Type": "text/html; charset=UTF-8", "X-PacketPulse-Store": options.path });
      res.end("Ok.\n");
      return;
    }
    if (url.pathname !== "/" || (req.method !== "GET" && req.method !== "POST")) {
      const body = `There is no handle ${url.pathname}\n\nUse / or /ping\n`;
      res.writeHead(404, {
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    if (req.method === "GET" && !url.searchParams.has("query")) {
      res.writeHead(200, { "Content-Type": "text/html; charset=UTF-8" });
      res.end("Ok.\n");
      return;
    }
    handleQuery(req, res, url).catch((error: unknown) => fail(res, error));
  });
  server.keepAliveTimeout = 10_000;
  const closeSessions = () => {
    writers.close();
    readers.close();
    control.session.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    // A port in use, say: the caller decides what to do; the sessions are not left open.
    closeSessions();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      closeSessions();
    },
  };
}

function summary(readRows: number, readBytes: number, written: number, resultRows: number, elapsed: number) {
  return JSON.stringify({
    read_rows: String(readRows),
    read_bytes: String(readBytes),
    written_rows: String(written),
    written_bytes: "0",
    total_rows_to_read: String(readRows),
    result_rows: String(resultRows),
    result_bytes: "0",
    elapsed_ns: String(Math.round(elapsed * 1e9)),
  });
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[`\\]/g, "\\$&")}\``;
}

/** Bytes as the contents of a ClickHouse string literal: printable ASCII kept, everything else `\xHH`. */
function escapeBytes(data: Buffer): string {
  let out = "";
  for (const byte of data) {
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}
