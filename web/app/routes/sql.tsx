import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { requireAdmin, requireForm } from "../guard.server.ts";
import { fmt } from "../ui.tsx";

/** Read-only SQL over silver, gold and (through ClickHouse's iceberg functions) bronze: admins only. */

const MAX_ROWS = 10_000;
export const sqlSchema = z.object({
  sql: z
    .string()
    .trim()
    .min(1, { error: "Write a query" })
    .max(20_000, { error: "The query is too long (20,000 characters at most)" }),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await requireAdmin(context, request);
  return { csrf: session.csrfToken, maxRows: MAX_ROWS };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const session = await requireAdmin(context, request, "data");
  const form = await requireForm(context, request, session);
  const parsed = sqlSchema.safeParse({ sql: form.get("sql") });
  if (!parsed.success) return Response.json({ error: parsed.error.issues[0]?.message }, { status: 400 });
  try {
    const result = await context.mercury.data.adhoc(parsed.data.sql, MAX_ROWS);
    return Response.json({ sql: parsed.data.sql, ...result });
  } catch (error) {
    return Response.json(
      { sql: parsed.data.sql, error: (error as Error).message.slice(0, 2000) },
      { status: 400 },
    );
  }
}

interface SqlResult {
  sql?: string;
  error?: string;
  columns?: string[];
  types?: string[];
  rows?: unknown[][];
  ms?: number;
}

function csv(result: SqlResult): string {
  const cell = (value: unknown) => {
    const text =
      value === null || value === undefined
        ? ""
        : typeof value === "object"
          ? JSON.stringify(value)
          : String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [result.columns ?? [], ...(result.rows ?? [])].map((row) => row.map(cell).join(",")).join("\n");
}

export default function Sql() {
  const { csrf, maxRows } = useLoaderData<typeof loader>();
  const result = useActionData<SqlResult>();
  const navigation = useNavigation();
  return (
    <>
      <h1>SQL (read-only)</h1>
      <Form method="post" className="card">
        <input type="hidden" name="csrf" value={csrf} />
        <label>
          Query over silver and gold (at most {fmt.int(maxRows)} rows, 30 s)
          <textarea
            name="sql"
            defaultValue={
              result?.sql ??
              "SELECT status, count() AS sessions\nFROM session_summary\nGROUP BY status\nORDER BY sessions DESC"
            }
          />
        </label>
        <div style={{ display: "flex", gap: "0.5rem", marginTop: "0.5rem" }}>
          <button type="submit" disabled={navigation.state === "submitting"}>
            Run
          </button>
          {result?.rows ? (
            <a
              download="packetpulse-query.csv"
              href={`data:text/csv;charset=utf-8,${encodeURIComponent(csv(result))}`}
            >
              Download CSV
            </a>
          ) : null}
        </div>
      </Form>
      {result?.error ? (
        <p className="alert" role="alert" data-testid="sql-error">
          {result.error}
        </p>
      ) : null}
      {result?.rows ? (
        <section className="card table-wrap" style={{ marginTop: "1rem" }}>
          <p className="kpi-trend" data-testid="sql-summary">
            {fmt.int(result.rows.length)} rows in {result.ms?.toFixed(0)} ms
          </p>
          <table data-testid="sql-result">
            <thead>
              <tr>
                {result.columns?.map((c, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a query may name two columns alike; position is the identity
                  <th key={`${c}-${i}`} title={result.types?.[i]}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.rows.slice(0, 1000).map((row, r) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: result rows have no identity but their position
                <tr key={r}>
                  {row.map((value, c) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: cells are identified by their column's position
                    <td key={c}>
                      {value === null
                        ? "NULL"
                        : typeof value === "object"
                          ? JSON.stringify(value)
                          : String(value)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </>
  );
}
