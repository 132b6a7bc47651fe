import { parseArgs } from "node:util";
import { openBronzeFreshness } from "#functions/neptune/bronze-freshness.ts";
import { loadModels } from "#functions/uranus/models.ts";
import { type GoldProgress, type RunMode, runGold } from "#functions/uranus/runner.ts";
import { openGoldStore } from "#functions/uranus/store.ts";
import { clickhouseForTools } from "#shared/clickhouse/http/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { PacketPulseError } from "#shared/errors.ts";
import { lockDataFolder } from "#shared/platform/data-folder-lock.ts";

/**
 * `npm run uranus`: runs the gold models once, against the configured ClickHouse (embedded chDB in the data
 * folder by default: stop `npm start` first, chDB binds one folder per process).
 */

const usage = `Usage: npm run uranus -- [--model NAME ...] [--full-refresh] [--from DATE --to DATE] [--as-of TIME] [--list]

  --model NAME      run only this model (repeatable); its dependencies are not run
  --full-refresh    rebuild incremental models from scratch too
  --from DATE       backfill: recompute the sessions that started from DATE (YYYY-MM-DD or ISO time)...
  --to DATE         ...up to DATE (a YYYY-MM-DD date is included whole; an ISO time is exclusive)
  --as-of TIME      the time the run describes (default: now), ISO-8601
  --list            list the models in run order and exit

Without options, incremental models refresh what silver received since their previous run, the others
are rebuilt. Configuration comes from the environment; see README.md ("Configuration").`;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export class CliUsageError extends PacketPulseError {
  constructor(message: string) {
    super(message);
    this.name = "CliUsageError";
  }
}

function parseTime(name: string, value: string, endOfDay = false): Date {
  const ms = Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms))
    throw new CliUsageError(`--${name} must be a date (2024-05-01) or an ISO time (got ${value})`);
  return new Date(DATE_ONLY.test(value) && endOfDay ? ms + 86_400_000 : ms);
}

function progressLine(progress: GoldProgress): string | undefined {
  if (progress.kind === "model-start") {
    return `[${progress.index + 1}/${progress.total}] ${progress.model} (${progress.mode}) …`;
  }
  if (progress.kind === "chunk") {
    const day = progress.from.toISOString().slice(0, 10);
    return `    ${progress.model}: day ${progress.chunk}/${progress.chunks} (${day}) ${progress.rowsWritten.toLocaleString("en-US")} rows`;
  }
  const r = progress.result;
  const detail =
    r.outcome === "success"
      ? `${r.rows.toLocaleString("en-US")} rows (${r.rowsWritten.toLocaleString("en-US")} computed) in ${(r.durationMs / 1000).toFixed(2)} s`
      : r.error;
  return `[${progress.index + 1}/${progress.total}] ${r.model}: ${r.outcome} — ${detail}`;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string", multiple: true },
      "full-refresh": { type: "boolean", default: false },
      from: { type: "string" },
      to: { type: "string" },
      "as-of": { type: "string" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const models = await loadModels();
  if (values.list) {
    for (const model of models) {
      const deps = model.dependsOn.length > 0 ? ` ← ${model.dependsOn.join(", ")}` : "";
      console.log(`${model.name} (${model.strategy})${deps}`);
    }
    return 0;
  }
  for (const name of values.model ?? []) {
    if (!models.some((m) => m.name === name)) {
      throw new CliUsageError(`--model ${name}: no such model (${models.map((m) => m.name).join(", ")})`);
    }
  }
  if ((values.from === undefined) !== (values.to === undefined)) {
    throw new CliUsageError("--from and --to go together (a backfill needs both ends)");
  }
  if (values.from !== undefined && values["full-refresh"]) {
    throw new CliUsageError(
      "--full-refresh and --from/--to exclude each other: a full refresh covers every date",
    );
  }
  const range =
    values.from !== undefined && values.to !== undefined
      ? { from: parseTime("from", values.from), to: parseTime("to", values.to, true) }
      : undefined;
  if (range && range.to <= range.from) throw new CliUsageError("--to must be after --from");
  const mode: RunMode = range ? "backfill" : values["full-refresh"] ? "full" : "scheduled";
  const asOf = values["as-of"] ? parseTime("as-of", values["as-of"]) : new Date();

  const config = loadConfig();
  // A running platform owns the embedded store: go through its ClickHouse HTTP interface.
  const store = await clickhouseForTools(config);
  if (store.via)
    console.log(`Uranus: through the running platform's ClickHouse HTTP interface at ${store.via}`);
  // Otherwise embedded ClickHouse binds its folder to one process: say at once who has it rather than fail
  // inside chDB (a platform that serves no HTTP interface still holds the folder).
  const lock =
    store.via === undefined && store.clickhouse.backend === "embedded"
      ? lockDataFolder(config.dataDir, "npm run uranus")
      : undefined;
  const clickhouse = await openGoldStore(store.clickhouse);
  const bronze = openBronzeFreshness(config.bronze);
  try {
    const began = performance.now();
    console.log(
      `Uranus: ${mode} run as of ${asOf.toISOString()}${range ? ` over ${range.from.toISOString()} – ${range.to.toISOString()}` : ""}`,
    );
    const result = await runGold({
      clickhouse,
      models,
      settings: config.uranus,
      asOf,
      mode,
      range,
      only: values.model,
      bronze,
      onProgress: (progress) => {
        const line = progressLine(progress);
        if (line) console.log(line);
      },
    });
    const failed = result.models.filter((m) => m.outcome !== "success").length;
    console.log(
      `${result.ok ? "Done" : "Finished with failures"}: ${result.models.length - failed}/${result.models.length} models in ${((performance.now() - began) / 1000).toFixed(2)} s (run ${result.runId}, recorded in uranus_runs)`,
    );
    return result.ok ? 0 : 1;
  } finally {
    await bronze.close();
    await clickhouse.close();
    lock?.release();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof PacketPulseError ? error.message : error);
      if (error instanceof CliUsageError) console.error(`\n${usage}`);
      process.exit(2);
    },
  );
}
