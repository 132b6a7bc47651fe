import { parseArgs } from "node:util";
import { openBronzeStore } from "#functions/neptune/store.ts";
import { loadConfig } from "#shared/config/index.ts";
import { PacketPulseError } from "#shared/errors.ts";

/**
 * `npm run bronze:sql -- "SELECT count() FROM {bronze}"`: ad-hoc SQL over the bronze table with embedded
 * ClickHouse (chDB), for the embedded mode where there is no Trino. `{bronze}` stands for the table:
 * `icebergLocal(...)` on a local warehouse, `icebergS3(...)` on S3.
 *
 * chDB lets file-based table functions read only below the process's working directory, so this process
 * moves into the warehouse folder before loading chDB: a data folder outside the repository works too.
 */

const usage = `Usage: npm run bronze:sql -- "SQL with {bronze}" [--format PrettyCompact|JSONEachRow|CSVWithNames|...]`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { format: { type: "string", default: "PrettyCompact" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  const sql = positionals.join(" ");
  if (values.help || !sql.includes("{bronze}")) {
    console.log(usage);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const config = loadConfig();
  const store = await openBronzeStore(config.bronze);
  const location = store.table.location;
  await store.close();
  const quote = (text: string) => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  let table: string;
  const warehouse = config.bronze.warehouse;
  if (warehouse.catalog === "filesystem") {
    process.chdir(warehouse.warehouse);
    table = `icebergLocal(${quote(location)})`;
  } else {
    const endpoint = warehouse.s3.endpoint ?? `https://s3.${warehouse.s3.region}.amazonaws.com`;
    const url = `${endpoint.replace(/\/+$/, "")}/${location.replace(/^s3a?:\/\//, "")}/`;
    const credentials = warehouse.s3.credentials;
    table = credentials
      ? `icebergS3(${quote(url)}, ${quote(credentials.accessKeyId)}, ${quote(credentials.secretAccessKey)})`
      : `icebergS3(${quote(url)})`;
  }
  const { query } = await import("chdb");
  process.stdout.write(query(sql.replaceAll("{bronze}", table), values.format));
}

main().catch((error: unknown) => {
  console.error(error instanceof PacketPulseError ? error.message : error);
  process.exit(1);
});
