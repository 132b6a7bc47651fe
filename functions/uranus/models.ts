import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ModelDefinitionError } from "./errors.ts";

/**
 * Gold models: one SQL file each in models/, a SELECT preceded by a header of `-- key: value` lines:
 *
 *   -- model: kpi_aggregates          the table it produces (must match the file name)
 *   -- depends: session_summary       models it reads (comma-separated; may be empty)
 *   -- strategy: rebuild              rebuild | incremental
 *   -- unique_key: session_id         incremental only: rows with these keys replace older ones
 *   -- order_by: period, period_start the table's ORDER BY
 *
 * Query parameters ({as_of:DateTime64(3, 'UTC')}, {scope:String}, …) are bound by the runner.
 */

export const GOLD_MODELS_DIR = fileURLToPath(new URL("./models/", import.meta.url));

export type ModelStrategy = "rebuild" | "incremental";

export interface GoldModel {
  name: string;
  file: string;
  dependsOn: string[];
  strategy: ModelStrategy;
  uniqueKey: string[];
  orderBy: string[];
  /** The SELECT, without the header. */
  sql: string;
  /** Names of the query parameters the SELECT uses. */
  parameters: string[];
}

const HEADER_LINE = /^--\s*([a-z_]+):\s*(.*)$/;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const PARAMETER = /\{([a-z_][a-z0-9_]*):/g;

const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

export function parseModel(file: string, text: string): GoldModel {
  // The header is the leading run of `-- key: value` lines; later comments are prose.
  const header = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = HEADER_LINE.exec(line.trim());
    if (!match) break;
    header.set(match[1]!, match[2]!.trim());
  }
  const where = path.basename(file);
  const name = header.get("model");
  if (!name || !IDENTIFIER.test(name)) {
    throw new ModelDefinitionError(`${where}: the header needs "-- model: <table_name>" (lowercase, _)`);
  }
  if (`${name}.sql` !== where) {
    throw new ModelDefinitionError(`${where}: model "${name}" must live in ${name}.sql`);
  }
  const strategy = header.get("strategy");
  if (strategy !== "rebuild" && strategy !== "incremental") {
    throw new ModelDefinitionError(`${where}: "-- strategy:" must be rebuild or incremental`);
  }
  const uniqueKey = list(header.get("unique_key"));
  if (strategy === "incremental" && uniqueKey.length === 0) {
    throw new ModelDefinitionError(`${where}: an incremental model needs "-- unique_key: <columns>"`);
  }
  const orderBy = list(header.get("order_by"));
  if (orderBy.length === 0)
    throw new ModelDefinitionError(`${where}: the header needs "-- order_by: <columns>"`);
  const dependsOn = list(header.get("depends"));
  for (const column of [...uniqueKey, ...orderBy, ...dependsOn]) {
    if (!IDENTIFIER.test(column))
      throw new ModelDefinitionError(`${where}: "${column}" is not an identifier`);
  }
  const sql = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n")
    .trim()
    .replace(/;\s*$/, "");
  if (!/^(WITH|SELECT)\b/i.test(sql)) {
    throw new ModelDefinitionError(`${where}: after the header comes one SELECT (or WITH … SELECT)`);
  }
  const parameters = [...new Set([...sql.matchAll(PARAMETER)].map((m) => m[1]!))];
  return { name, file, dependsOn, strategy, uniqueKey, orderBy, sql, parameters };
}

/** Sorts models so every model comes after its dependencies (alphabetical among equals, for stable runs). */
export function orderModels(models: GoldModel[]): GoldModel[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  for (const model of models) {
    for (const dependency of model.dependsOn) {
      if (!byName.has(dependency)) {
        throw new ModelDefinitionError(`Model ${model.name} depends on ${dependency}, which is not a model`);
      }
    }
  }
  const ordered: GoldModel[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (model: GoldModel, trail: string[]) => {
    if (state.get(model.name) === "done") return;
    if (state.get(model.name) === "visiting") {
      throw new ModelDefinitionError(
        `Models depend on each other in a cycle: ${[...trail, model.name].join(" → ")}`,
      );
    }
    state.set(model.name, "visiting");
    for (const dependency of [...model.dependsOn].sort())
      visit(byName.get(dependency)!, [...trail, model.name]);
    state.set(model.name, "done");
    ordered.push(model);
  };
  for (const model of [...models].sort((a, b) => a.name.localeCompare(b.name))) visit(model, []);
  return ordered;
}

/** Reads and orders every model of `directory`. */
export async function loadModels(directory: string = GOLD_MODELS_DIR): Promise<GoldModel[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith(".sql")).sort();
  const models: GoldModel[] = [];
  for (const file of files) {
    models.push(parseModel(path.join(directory, file), await readFile(path.join(directory, file), "utf8")));
  }
  return orderModels(models);
}
