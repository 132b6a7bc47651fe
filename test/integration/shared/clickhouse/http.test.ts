import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGoldStore } from "#functions/uranus/index.ts";
import {
  ADDRESS_FILE,
  type ClickHouseHttpServer,
  serveEmbeddedStore,
  startClickHouseHttp,
} from "#shared/clickhouse/http/index.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * ClickHouse's HTTP interface over the embedded store, started as `npm start` starts it (after the store is
 * opened and migrated, on a free port), used by two independent clients: `@clickhouse/client` and
 * clickhouse-connect from PyPI (installed by scripts/clickhouse-connect.sh).
 */

const run = promisify(execFile);
let dataDir: string;
let config: PacketPulseConfig;
let platform: ClickHouseClient;
let server: ClickHouseHttpServer;
let writer: ClickHouseClient;
let reader: ClickHouseClient;

const clientAs = (user: { name: string; password: string }, extra: Parameters<typeof createClient>[0] = {}) =>
  // The refusals below are expected: the client's own error log would only repeat them.
  createClient({
    url: server.url,
    username: user.name,
    password: user.password,
    log: { level: ClickHouseLogLevel.OFF },
    ...extra,
  });

/** The ClickHouse error code a call failed with ("none" when it did not fail). */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "none";
  } catch (error) {
    return String((error as { code?: string }).code);
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-http-"));
  config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir, CLICKHOUSE_HTTP_PORT: "0" });
  platform = await openGoldStore(config.clickhouse);
  server = (await serveEmbeddedStore(config))!;
  writer = clientAs(config.clickhouseHttp.writer, { compression: { request: true, response: true } });
  reader = clientAs(config.clickhouseHttp.reader);
});

afterAll(async () => {
  await writer?.close();
  await reader?.close();
  await server?.close();
  await platform?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("ClickHouse's HTTP interface over the embedded store", () => {
  it("answers /ping, names its store there, and writes its address in the data folder", async () => {
    // Act
    const ping = await fetch(`${server.url}/ping`);
    const address = JSON.parse(readFileSync(path.join(dataDir, ADDRESS_FILE), "utf8"));

    // Assess
    expect(ping.status).toBe(200);
    expect(await ping.text()).toBe("Ok.\n");
    expect(ping.headers.get("x-packetpulse-store")).toBe(path.join(dataDir, "clickhouse"));
    expect(address).toMatchObject({ url: server.url, pid: process.pid });
  });

  it("takes the writer's DDL and gzip-compressed inserts, and answers parameters in JSONEachRow, CSV and TabSeparatedWithNames", async () => {
    // Prepare
    await writer.command({
      query: "CREATE TABLE js_probe (x UInt64, s String, n Nullable(String)) ENGINE = MergeTree ORDER BY x",
    });

    // Act
    await writer.insert({
      table: "js_probe",
      values: [
        { x: 1, s: "one\ttab", n: null },
        { x: 2, s: "two's", n: "x" },
        { x: 3, s: "three", n: null },
      ],
      format: "JSONEachRow",
    });
    const params = await (
      await reader.query({
        query:
          "SELECT {s:String} AS s, {n:Nullable(String)} AS n, {xs:Array(UInt8)} AS xs, count() AS c FROM js_probe WHERE x >= {from:UInt64}",
        query_params: { s: "it's\ta\\b", n: null, xs: [1, 2], from: 2 },
        format: "JSONEachRow",
      })
    ).json();
    const csv = await (
      await reader.query({ query: "SELECT x, s FROM js_probe ORDER BY x", format: "CSV" })
    ).text();
    const tsv = await (
      await reader.query({
        query: "SELECT x, s, n FROM js_probe ORDER BY x",
        format: "TabSeparatedWithNames",
      })
    ).text();
    const summary = await reader.query({ query: "SELECT count() FROM js_probe", format: "JSONEachRow" });

    // Assess
    expect(params).toEqual([{ s: "it's\ta\\b", n: null, xs: [1, 2], c: "2" }]);
    expect(csv).toBe('1,"one\ttab"\n2,"two\'s"\n3,"three"\n');
    expect(tsv).toBe("x\ts\tn\n1\tone\\ttab\t\\N\n2\ttwo\\'s\tx\n3\tthree\t\\N\n");
    expect(summary.response_headers["x-clickhouse-format"]).toBe("JSONEachRow");
    expect(await summary.json()).toEqual([{ "count()": "3" }]);
  });

  it("refuses the read-only user's writes and DDL, and a limit raised above its own, and keeps the rows", async () => {
    // Prepare
    await writer.command({
      query: "CREATE TABLE IF NOT EXISTS ro_probe (x UInt64) ENGINE = MergeTree ORDER BY x",
    });
    await writer.insert({ table: "ro_probe", values: [{ x: 1 }], format: "JSONEachRow" });

    // Act
    const insert = await codeOf(
      reader.insert({ table: "ro_probe", values: [{ x: 2 }], format: "JSONEachRow" }),
    );
    const command = await codeOf(reader.command({ query: "INSERT INTO ro_probe VALUES (3)" }));
    const drop = await codeOf(reader.command({ query: "DROP TABLE ro_probe" }));
    const create = await codeOf(reader.command({ query: "CREATE TABLE x (a UInt8) ENGINE = Memory" }));
    const raised = await codeOf(
      reader.query({ query: "SELECT 1", clickhouse_settings: { max_execution_time: 100_000 } }),
    );
    const raisedInQuery = await codeOf(reader.query({ query: "SELECT 1 SETTINGS max_memory_usage = 0" }));
    const scan = await codeOf(reader.query({ query: "SELECT count() FROM numbers(1000000000000)" }));
    const file = await codeOf(reader.query({ query: "SELECT * FROM file('package.json', 'LineAsString')" }));
    const outfile = await codeOf(
      writer.query({ query: "SELECT 1 INTO OUTFILE 'http-interface-outfile.txt'" }),
    );
    const lowered = await (
      await reader.query({
        query: "SELECT getSetting('max_execution_time') AS t",
        format: "JSONEachRow",
        clickhouse_settings: { max_execution_time: 5 },
      })
    ).json();
    const limit = await (
      await reader.query({ query: "SELECT getSetting('max_execution_time') AS t", format: "JSONEachRow" })
    ).json();

    // Assess
    expect({ insert, command, drop, create }).toEqual({
      insert: "164",
      command: "164",
      drop: "164",
      create: "164",
    });
    expect({ raised, raisedInQuery }).toEqual({ raised: "452", raisedInQuery: "452" });
    // Its per-query limit on rows read (TOO_MANY_ROWS).
    expect(scan).toBe("158");
    // Files and the network are the platform's process's: no table function over them for the reader, and
    // INTO OUTFILE for no one (as over a server's HTTP interface).
    expect({ file, outfile }).toEqual({ file: "497", outfile: "48" });
    expect(existsSync("http-interface-outfile.txt")).toBe(false);
    // A request's settings last for that request only.
    expect(lowered).toEqual([{ t: 5 }]);
    expect(limit).toEqual([{ t: config.clickhouseHttp.reader.limits.max_execution_time }]);
    expect(
      await (await reader.query({ query: "SELECT x FROM ro_probe", format: "JSONEachRow" })).json(),
    ).toEqual([{ x: "1" }]);
  });

  it("refuses a wrong password, an unknown user and no credentials with AUTHENTICATION_FAILED (516)", async () => {
    // Prepare
    const wrong = clientAs({ name: config.clickhouseHttp.reader.name, password: "not-the-password" });
    const unknown = clientAs({ name: "mallory", password: config.clickhouseHttp.reader.password });

    // Act
    const codes = [
      await codeOf(wrong.query({ query: "SELECT 1" })),
      await codeOf(unknown.query({ query: "SELECT 1" })),
    ];
    const anonymous = await fetch(`${server.url}/?query=SELECT+1`);
    await wrong.close();
    await unknown.close();

    // Assess
    expect(codes).toEqual(["516", "516"]);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("x-clickhouse-exception-code")).toBe("516");
    expect(await anonymous.text()).toMatch(
      /^Code: 516\. DB::Exception: default: Authentication failed.*\(AUTHENTICATION_FAILED\)/,
    );
  });

  it("stops a query killed with KILL QUERY, and one whose client went away", async () => {
    // Prepare: queries that would run for minutes (the writer's: the reader's row limit refuses them).
    const long = "SELECT count() FROM numbers(1000000000000) WHERE sipHash64(number) = 1";
    const killedId = randomUUID();
    const abortedId = randomUUID();
    const running = async (queryId: string) =>
      (
        await (
          await writer.query({
            query:
              "SELECT count() AS n FROM system.processes WHERE Settings['log_comment'] = {marker:String}",
            query_params: { marker: `http:${queryId}` },
            format: "JSONEachRow",
          })
        ).json<{ n: string }>()
      )[0]!.n;
    // Act: KILL QUERY from another client, by the query id the first one gave.
    const killed = codeOf(writer.query({ query: long, query_id: killedId }));
    await waitUntil(async () => (await running(killedId)) === "1", "the query to be running", 30_000, {
      pollMs: 100,
    });
    await writer.command({ query: `KILL QUERY WHERE query_id = '${killedId}'` });
    const killedCode = await killed;
    // Act: a client that gives up (aborts its request).
    const controller = new AbortController();
    const aborted = codeOf(
      writer.query({ query: long, query_id: abortedId, abort_signal: controller.signal }),
    );
    await waitUntil(async () => (await running(abortedId)) === "1", "the query to be running", 30_000, {
      pollMs: 100,
    });
    controller.abort();
    await aborted;

    // Assess: the first failed with QUERY_WAS_CANCELLED; the second no longer runs in the engine.
    expect(killedCode).toBe("394");
    await waitUntil(async () => (await running(abortedId)) === "0", "the aborted query to end", 30_000, {
      pollMs: 100,
    });
    expect(await (await reader.query({ query: "SELECT 1 AS one", format: "JSONEachRow" })).json()).toEqual([
      { one: 1 },
    ]);
  });

  it("refuses a second interface on a port in use (npm start then runs without one) and keeps serving", async () => {
    // Act
    const second = startClickHouseHttp({
      path: path.join(dataDir, "clickhouse"),
      database: config.clickhouse.database,
      http: { ...config.clickhouseHttp, host: "127.0.0.1", port: server.port },
    });

    // Assess
    await expect(second).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(await (await reader.query({ query: "SELECT 2 AS two", format: "JSONEachRow" })).json()).toEqual([
      { two: 2 },
    ]);
  });

  it("serves clickhouse-connect (PyPI): Native inserts with LZ4 bodies, parameters, formats, refusals", async () => {
    // Act
    const { stdout } = await run(
      "bash",
      [
        "scripts/clickhouse-connect.sh",
        "python",
        "test/helpers/clickhouse-connect-client.py",
        String(server.port),
        config.clickhouseHttp.writer.name,
        config.clickhouseHttp.writer.password,
        config.clickhouseHttp.reader.name,
        config.clickhouseHttp.reader.password,
      ],
      { timeout: 240_000 },
    );
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);

    // Assess
    expect(result).toEqual({
      server_version: expect.stringMatching(/^\d+\.\d+/),
      rows: [
        [1, "one\ttab", null],
        [2, "two's", "x"],
      ],
      params: [["it's\ta", null, [1, 2]]],
      csv: '1,"one\ttab"\n2,"two\'s"\n',
      tsv_with_names: "x\ts\n1\tone\\ttab\n2\ttwo\\'s\n",
      json_each_row: '{"x":"1"}\n{"x":"2"}\n',
      reader_insert: 164,
      reader_drop: 164,
      wrong_password: 516,
      count_after: 2,
    });
  }, 300_000);
});
