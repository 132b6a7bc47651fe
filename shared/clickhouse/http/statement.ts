/**
 * What the interface needs to know of a statement before running it, read from its text: how many
 * statements it holds, its kind, its FORMAT clause, an INSERT's target, the settings it changes. String
 * literals, quoted identifiers and comments are masked first, so nothing inside them is taken for syntax.
 */

/** The statement with every string literal, quoted identifier and comment replaced by spaces (same length). */
export function maskStatement(sql: string): string {
  const out = sql.split("");
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to && k < out.length; k++) if (out[k] !== "\n") out[k] = " ";
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === "\\") j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      // Keep the quotes, so `'a' 'b'` stays two tokens; blank the contents.
      blank(i + 1, j);
      i = j + 1;
    } else if ((c === "-" && sql[i + 1] === "-") || c === "#") {
      const end = sql.indexOf("\n", i);
      const j = end === -1 ? sql.length : end;
      blank(i, j);
      i = j;
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 1;
      let j = i + 2;
      while (j < sql.length && depth > 0) {
        if (sql[j] === "/" && sql[j + 1] === "*") {
          depth++;
          j += 2;
        } else if (sql[j] === "*" && sql[j + 1] === "/") {
          depth--;
          j += 2;
        } else j++;
      }
      blank(i, j);
      i = j;
    } else i++;
  }
  return out.join("");
}

/** True when the text holds more than one statement (a trailing `;` is allowed, as ClickHouse allows it). */
export function isMultiStatement(masked: string): boolean {
  const semicolon = masked.indexOf(";");
  return (
    semicolon !== -1 &&
    masked
      .slice(semicolon + 1)
      .replace(/;/g, "")
      .trim() !== ""
  );
}

export type StatementKind = "read" | "insert" | "set" | "use" | "kill" | "other";

const READ_KEYWORDS = new Set(["SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"]);

export function kindOf(masked: string): StatementKind {
  const first = /^[\s(]*([A-Za-z]+)/.exec(masked)?.[1]?.toUpperCase();
  if (first === undefined) return "other";
  if (READ_KEYWORDS.has(first)) return "read";
  if (first === "INSERT") return "insert";
  if (first === "SET") return "set";
  if (first === "USE") return "use";
  if (first === "KILL") return "kill";
  return "other";
}

/** The format named by a trailing `FORMAT name` clause, if any. */
export function formatClauseOf(masked: string): string | undefined {
  return /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(masked)?.[1];
}

export interface InsertWithData {
  /** `table`, `db.table`, with an optional column list: what follows INSERT INTO. */
  target: string;
  table: string;
  columns?: string[];
  format: string;
}

/** `INSERT INTO <target> FORMAT <name>` whose rows come in the request body. */
export function insertWithDataOf(sql: string, masked: string): InsertWithData | undefined {
  const match = /^\s*INSERT\s+INTO\s+(?:TABLE\s+)?([\s\S]+?)\s+FORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(
    masked,
  );
  if (!match) return undefined;
  const start = masked.indexOf(match[1]!);
  const target = sql.slice(start, start + match[1]!.length).trim();
  const simple = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*(?:\(([A-Za-z0-9_,\s]+)\))?$/.exec(
    target,
  );
  return {
    target,
    table: simple?.[1] ?? "",
    columns: simple?.[2]?.split(",").map((column) => column.trim()),
    format: match[2]!,
  };
}

/** `KILL QUERY WHERE query_id = '...' [SYNC|ASYNC|TEST]`: the one form of KILL the interface serves. */
export function killByQueryIdOf(sql: string): { queryId: string; mode: string } | undefined {
  const match =
    /^\s*KILL\s+QUERY\s+WHERE\s+query_id\s*=\s*'((?:[^'\\]|\\.)*)'\s*(SYNC|ASYNC|TEST)?\s*;?\s*$/i.exec(sql);
  if (!match) return undefined;
  return { queryId: match[1]!.replace(/\\(.)/g, "$1"), mode: (match[2] ?? "ASYNC").toUpperCase() };
}

/** `name = value` pairs of a statement's SETTINGS clauses (and SET), for the names asked about. */
export function settingsAssigned(masked: string, sql: string, names: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = new RegExp(`\\b(${names.join("|")})\\s*=\\s*([^\\s,)]+)`, "gi");
  for (const match of masked.matchAll(pattern)) {
    const valueStart = match.index + match[0].length - match[2]!.length;
    found.set(match[1]!.toLowerCase(), sql.slice(valueStart, valueStart + match[2]!.length));
  }
  return found;
}
