import type { LoaderFunctionArgs } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { requireSession } from "../guard.server.ts";
import { Empty, fmt, LocalTime, StatusBadge } from "../ui.tsx";

const STATUSES = [
  "started",
  "en_route",
  "picked_up",
  "arrived",
  "completed",
  "failed",
  "cancelled",
  "unknown",
] as const;
const VEHICLES = ["bicycle", "scooter", "motorbike", "car", "van"] as const;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date (YYYY-MM-DD)" });

export const sessionFilterSchema = z.object({
  status: z.enum(STATUSES).optional(),
  vehicleType: z
    .string()
    .max(32)
    .regex(/^[a-z_]+$/)
    .optional(),
  from: day.optional(),
  to: day.optional(),
  q: z
    .string()
    .max(36)
    .regex(/^[0-9a-f-]+$/i, { error: "must be the start of a session or vehicle id" })
    .optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request);
  const params = Object.fromEntries(
    [...new URL(request.url).searchParams].filter(([key, value]) => value !== "" && !key.startsWith("_")),
  );
  const parsed = sessionFilterSchema.safeParse(params);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((issue) => `${String(issue.path[0])} ${issue.message}`)
      .join("; ");
    throw new Response(`Invalid filter: ${message}`, { status: 400 });
  }
  const filter = { ...parsed.data, q: parsed.data.q?.toLowerCase(), pageSize: 50 };
  const { rows, total } = await context.mercury.data.sessions(filter);
  return { rows, total, filter };
}

export default function Sessions() {
  const { rows, total, filter } = useLoaderData<typeof loader>();
  const pages = Math.max(1, Math.ceil(total / filter.pageSize));
  const pageLink = (page: number) => {
    const params = new URLSearchParams(
      Object.entries({ ...filter, page: String(page), pageSize: "" }).filter(
        ([, v]) => v !== undefined && v !== "",
      ) as [string, string][],
    );
    return `?${params}`;
  };
  return (
    <>
      <h1>Sessions</h1>
      <Form method="get" className="inline card" role="search">
        <label>
          Session or vehicle id
          <input name="q" defaultValue={filter.q ?? ""} placeholder="id prefix" />
        </label>
        <label>
          Status
          <select name="status" defaultValue={filter.status ?? ""}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Vehicle
          <select name="vehicleType" defaultValue={filter.vehicleType ?? ""}>
            <option value="">any</option>
            {VEHICLES.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Started from (UTC day)
          <input type="date" name="from" defaultValue={filter.from ?? ""} />
        </label>
        <label>
          to (exclusive)
          <input type="date" name="to" defaultValue={filter.to ?? ""} />
        </label>
        <button type="submit">Filter</button>
      </Form>
      {rows.length === 0 ? (
        <Empty>No session matches. Clear the filters, or wait for gold's next refresh (every minute).</Empty>
      ) : (
        <div className="card table-wrap">
          <table data-testid="sessions-table">
            <thead>
              <tr>
                <th>Started</th>
                <th>Session</th>
                <th>Vehicle</th>
                <th>Status</th>
                <th>Duration</th>
                <th>Distance</th>
                <th>Pings</th>
                <th>On time</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.session_id} data-testid="session-row">
                  <td>
                    <LocalTime iso={s.start_time} />
                  </td>
                  <td className="mono">
                    <Link to={`/sessions/${s.session_id}`}>{s.session_id}</Link>
                  </td>
                  <td>{s.vehicle_type ?? "—"}</td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td>{fmt.minutes(s.duration_seconds)}</td>
                  <td data-testid="session-distance">{fmt.km(s.total_distance_km)}</td>
                  <td>{fmt.int(s.ping_count)}</td>
                  <td>{s.on_time === null ? "—" : s.on_time ? "yes" : "late"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            {filter.page > 1 ? <Link to={pageLink(filter.page - 1)}>← previous</Link> : null}
            <span data-testid="sessions-total">
              page {filter.page} of {pages} · {fmt.int(total)} sessions
            </span>
            {filter.page < pages ? <Link to={pageLink(filter.page + 1)}>next →</Link> : null}
          </div>
        </div>
      )}
    </>
  );
}
