import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { clickhouseForTools, startClickHouseHttp } from "#shared/clickhouse/http/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { PacketPulseError } from "#shared/errors.ts";

/**
 * `npm run sql -- "SELECT ..."`, or `npm run sql` for a prompt: SQL over the silver and gold tables, printed
 * as a table. While the platform runs, through its ClickHouse HTTP interface (chDB lets one process hold
 * the store); when it does not, this process opens the store and serves the same interface to itself, so
 * both answer alike. Read-only unless --write.
 */

const usage = `Usage: npm run sql -- ["SQL"] [--format PrettyCompactMonoBlock|JSONEachRow|CSVWithNames|...] [--write]

  "SQL"        run one statement and print its result; without it, a prompt (end statements with ;)
  --format F   output format (default PrettyCompactMonoBlock: a table)
  --write      as the platform's writer (inserts, DDL); the default is the read-only user

Examples:
  npm run sql -- "SELECT status, count() FROM sessions GROUP BY status"
  npm run sql -- "SELECT * FROM kpi_aggregates WHERE period = 'day' ORDER BY period_start DESC LIMIT 7"`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      format: { type: "string", default: "PrettyCompactMonoBlock" },
      write: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const config = loadConfig();
  const user = values.write ? config.clickhouseHttp.writer : config.clickhouseHttp.reader;
  let url: string;
  let close = async () => {};
  if (config.clickhouse.backend === "server") {
    url = config.clickhouse.url;
  } else {
    const tools = await clickhouseForTools(config);
    if (tools.via) url = tools.via;
    else {
      // No platform owns the store: open it here, behind the same interface, on a free local port.
      const server = await startClickHouseHttp({
        path: config.clickhouse.path,
        database: config.clickhouse.database,
        http: { ...config.clickhouseHttp, host: "127.0.0.1", port: 0 },
      });
      url = server.url;
      close = server.close;
    }
  }
  const credentials =
    config.clickhouse.backend === "server"
      ? `${config.clickhouse.username}:${config.clickhouse.password}`
      : `${user.name}:${user.password}`;
  const run = async (sql: string): Promise<boolean> => {
    const began = performance.now();
    const response = await fetch(
      `${url}/?${new URLSearchParams({ default_format: values.format, database: config.clickhouse.database })}`,
      {
        method: "POST",
        body: sql,
        headers: { Authorization: `Basic ${Buffer.from(credentials).toString("base64")}` },
      },
    );
    const text = await response.text();
    if (!response.ok) {
      process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
      return false;
    }
    const summary = JSON.parse(response.headers.get("x-clickhouse-summary") ?? "{}") as Record<
      string,
      string
    >;
    process.stdout.write(text === "" ? "Ok.\n" : text);
    if (process.stdout.isTTY || positionals.length === 0) {
      const rows = summary.result_rows ?? "0";
      process.stderr.write(`${rows} rows in ${((performance.now() - began) / 1000).toFixed(3)} s\n`);
    }
    return true;
  };
  try {
    if (positionals.length > 0) return (await run(positionals.join(" "))) ? 0 : 1;
    return await prompt(run, url);
  } finally {
    await close();
  }
}

/** Statements from the terminal or a pipe, each ended by `;`. */
async function prompt(run: (sql: string) => Promise<boolean>, url: string): Promise<number> {
  const interactive = process.stdin.isTTY === true;
  if (interactive) console.error(`Connected to ${url}. End statements with ;  (exit or \\q to leave)`);
  const lines = createInterface({ input: process.stdin, output: interactive ? process.stderr : undefined });
  let statement = "";
  let ok = true;
  if (interactive) lines.setPrompt("packetpulse> ");
  if (interactive) lines.prompt();
  for await (const line of lines) {
    if (statement === "" && /^\s*(exit|quit|\\q)\s*;?\s*$/i.test(line)) break;
    statement += `${line}\n`;
    if (/;\s*$/.test(line)) {
      ok = (await run(statement.trim())) && ok;
      statement = "";
    }
    if (interactive) {
      lines.setPrompt(statement === "" ? "packetpulse> " : "          -> ");
      lines.prompt();
    }
  }
  if (statement.trim() !== "") ok = (await run(statement.trim())) && ok;
  lines.close();
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof PacketPulseError ? error.message : error);
    process.exitCode = 1;
  },
);
