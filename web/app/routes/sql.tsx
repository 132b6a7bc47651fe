import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { UserStoreError } from "../../server/users.ts";
import { requireAdmin, requireForm } from "../guard.server.ts";
import { fmt } from "../ui.tsx";

/** Read-only SQL over silver, gold and (through ClickHouse's iceberg functions) bronze: admins only. */

const MAX_ROWS = 10_000;
const sqlText = z
  .string({ error: "Write a query" })
  .trim()
  .min(1, { error: "Write a query" })
  .max(20_000, { error: "The query is too long (20,000 characters at most)" });
export const sqlSchema = z.object({ sql: sqlText });

/** The SQL page's actions: run a query, save it under a name (per user), run or delete a saved one. */
export const sqlActionSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("run"), sql: sqlText }),
  z.object({
    intent: z.literal("save"),
    sql: sqlText,
    name: z
      .string({ error: "Name the query" })
      .trim()
      .min(1, { error: "Name the query" })
      .max(100, { error: "The name is too long (100 characters at most)" }),
  }),
  z.object({ intent: z.literal("run-saved"), id: z.uuid({ error: "Choose a saved query" }) }),
  z.object({ intent: z.literal("delete"), id: z.uuid({ error: "Choose a saved query" }) }),
]);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await requireAdmin(context, request);
  const saved = await context.mercury.users.listQueries(session.user.id);
  return { csrf: session.csrfToken, maxRows: MAX_ROWS, saved };
}

async function run(context: ActionFunctionArgs["context"], sql: string, extra: Record<string, unknown> = {}) {
  try {
    const result = await context.mercury.data.adhoc(sql, MAX_ROWS);
    return Response.json({ sql, ...extra, ...result });
  } catch (error) {
    return Response.json({ sql, ...extra, error: (error as Error).message.slice(0, 2000) }, { status: 400 });
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const session = await requireAdmin(context, request, "data");
  const form = await requireForm(context, request, session);
  const fields = Object.fromEntries(form);
  // A form without an intent runs its query (the Run button, Enter in older clients).
  const parsed = sqlActionSchema.safeParse({ intent: "run", ...fields });
  if (!parsed.success) {
    return Response.json({ error: parsed.error.issues[0]?.message }, { status: 400 });
  }
  const input = parsed.data;
  const { users } = context.mercury;
  const userId = session.user.id;
  switch (input.intent) {
    case "run":
      return run(context, input.sql);
    case "save":
      try {
        const query = await users.saveQuery(userId, input.name, input.sql);
        return Response.json({ sql: input.sql, notice: `Saved “${query.name}”`, savedName: query.name });
      } catch (error) {
        if (error instanceof UserStoreError)
          return Response.json({ sql: input.sql, error: error.message }, { status: 409 });
        throw error;
      }
    case "run-saved": {
      const query = (await users.listQueries(userId)).find((q) => q.id === input.id);
      if (!query)
        return Response.json({ error: "That saved query does not exist (deleted?)" }, { status: 404 });
      return run(context, query.sql, { savedName: query.name });
    }
    case "delete":
      await users.deleteQuery(userId, input.id);
      return Response.json({ notice: "Saved query deleted" });
  }
}

interface SqlResult {
  sql?: string;
  error?: string;
  notice?: string;
  savedName?: string;
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
  const { csrf, maxRows, saved } = useLoaderData<typeof loader>();
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
            key={result?.sql}
            defaultValue={
              result?.sql ??
              "SELECT status, count() AS sessions\nFROM session_summary\nGROUP BY status\nORDER BY sessions DESC"
            }
          />
        </label>
        <div style={{ display: "flex", gap: "0.5rem", marginTop: "0.5rem" }}>
          <button type="submit" name="intent" value="run" disabled={navigation.state === "submitting"}>
            Run
          </button>
          <input
            name="name"
            aria-label="Name to save the query under"
            placeholder="name to save it under"
            defaultValue={result?.savedName ?? ""}
            key={result?.savedName}
            maxLength={100}
          />
          <button type="submit" name="intent" value="save" disabled={navigation.state === "submitting"}>
            Save query
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
      {result?.notice ? (
        <p className="notice" data-testid="sql-notice">
          {result.notice}
        </p>
      ) : null}
      <section className="card" style={{ marginTop: "1rem" }} data-testid="saved-queries">
        <h2>Saved queries</h2>
        {saved.length === 0 ? (
          <p className="kpi-trend">None yet: write a query, name it and press Save query.</p>
        ) : (
          <ul>
            {saved.map((query) => (
              <li key={query.id} data-testid={`saved-${query.name}`}>
                <Form method="post" style={{ display: "inline-flex", gap: "0.5rem", alignItems: "center" }}>
                  <input type="hidden" name="csrf" value={csrf} />
                  <input type="hidden" name="id" value={query.id} />
                  <span className="mono" title={query.sql}>
                    {query.name}
                  </span>
                  <button type="submit" name="intent" value="run-saved">
                    Run saved
                  </button>
                  <button type="submit" name="intent" value="delete">
                    Delete
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        )}
      </section>
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
