import { describe, expect, it } from "vitest";
import { unescapeParameter } from "#shared/clickhouse/http/request.ts";
import {
  formatClauseOf,
  insertWithDataOf,
  isMultiStatement,
  killByQueryIdOf,
  kindOf,
  maskStatement,
  settingsAssigned,
} from "#shared/clickhouse/http/statement.ts";
import { loadConfig } from "#shared/config/index.ts";

describe("the HTTP interface's reading of a request", () => {
  it("undoes ClickHouse's escaping of query parameters, with \\N as NULL", () => {
    expect(unescapeParameter("\\N")).toBeNull();
    expect(unescapeParameter("x\\ty\\nz")).toBe("x\ty\nz");
    expect(unescapeParameter("it\\'s \\\\ back")).toBe("it's \\ back");
    expect(unescapeParameter("\\x41B")).toBe("AB");
    expect(unescapeParameter("plain")).toBe("plain");
  });

  it("tells one statement from several, whatever strings and comments hold", () => {
    expect(isMultiStatement(maskStatement("SELECT 1;"))).toBe(false);
    expect(isMultiStatement(maskStatement("SELECT ';' AS s; -- done;\n"))).toBe(false);
    expect(isMultiStatement(maskStatement("SELECT `a;b` FROM t /* ; */"))).toBe(false);
    expect(isMultiStatement(maskStatement("SELECT 1; DROP TABLE t"))).toBe(true);
    expect(isMultiStatement(maskStatement("SELECT 'it''s'; SET readonly = 0"))).toBe(true);
  });

  it("reads a statement's kind, FORMAT clause, INSERT target and KILL QUERY", () => {
    expect(kindOf(maskStatement("  (SELECT 1)"))).toBe("read");
    expect(kindOf(maskStatement("WITH 1 AS x SELECT x"))).toBe("read");
    expect(kindOf(maskStatement("-- note\nDROP TABLE t"))).toBe("other");
    expect(formatClauseOf(maskStatement("SELECT 'FORMAT CSV' FORMAT JSONEachRow;"))).toBe("JSONEachRow");
    expect(formatClauseOf(maskStatement("SELECT 'FORMAT CSV'"))).toBeUndefined();
    const sql = "INSERT INTO db.t (a, b) FORMAT CSV";
    expect(insertWithDataOf(sql, maskStatement(sql))).toEqual({
      target: "db.t (a, b)",
      table: "db.t",
      columns: ["a", "b"],
      format: "CSV",
    });
    expect(killByQueryIdOf("KILL QUERY WHERE query_id = 'a\\'b' SYNC")).toEqual({
      queryId: "a'b",
      mode: "SYNC",
    });
    expect(killByQueryIdOf("KILL QUERY WHERE user = 'x'")).toBeUndefined();
    const limited = "SELECT 1 SETTINGS max_execution_time = 100, max_threads = 2";
    expect([...settingsAssigned(maskStatement(limited), limited, ["max_execution_time"])]).toEqual([
      ["max_execution_time", "100"],
    ]);
  });
});

describe("the HTTP interface's configuration", () => {
  it("refuses to serve with NODE_ENV=production while a password is unset or the public default, naming it", () => {
    // Prepare
    const production = { NODE_ENV: "production", PACKETPULSE_DATA_DIR: "/tmp/packetpulse-config" };

    // Act / Assess
    expect(() => loadConfig(production)).toThrow(/CLICKHOUSE_WRITER_PASSWORD must be set.*it is unset/);
    expect(() =>
      loadConfig({
        ...production,
        CLICKHOUSE_WRITER_PASSWORD: "own-writer-secret",
        CLICKHOUSE_READER_PASSWORD: "packetpulse-dev-reader",
      }),
    ).toThrow(/CLICKHOUSE_READER_PASSWORD must be set.*public development default/);
    const own = loadConfig({
      ...production,
      CLICKHOUSE_WRITER_PASSWORD: "own-writer-secret",
      CLICKHOUSE_READER_PASSWORD: "own-reader-secret",
    });
    expect(own.clickhouseHttp).toMatchObject({ enabled: true, host: "127.0.0.1", port: 8123 });
    expect(loadConfig({ ...production, CLICKHOUSE_HTTP_PORT: "off" }).clickhouseHttp.enabled).toBe(false);
    expect(
      loadConfig({ ...production, CLICKHOUSE_URL: "http://clickhouse:8123" }).clickhouseHttp.enabled,
    ).toBe(false);
  });

  it("has development defaults outside production and refuses one name for both users", () => {
    const config = loadConfig({ PACKETPULSE_DATA_DIR: "/tmp/packetpulse-config" });
    expect(config.clickhouseHttp).toMatchObject({
      writer: { name: "packetpulse", password: "packetpulse-dev-writer" },
      reader: {
        name: "reader",
        password: "packetpulse-dev-reader",
        limits: {
          max_execution_time: 60,
          max_rows_to_read: 1_000_000_000,
          max_memory_usage: 2048 * 1024 * 1024,
        },
      },
    });
    expect(() => loadConfig({ CLICKHOUSE_READER_USER: "packetpulse" })).toThrow(
      /CLICKHOUSE_READER_USER must differ/,
    );
    expect(() => loadConfig({ CLICKHOUSE_HTTP_PORT: "99999" })).toThrow(/CLICKHOUSE_HTTP_PORT/);
  });
});
