import type { LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { requireSession } from "../guard.server.ts";
import { Empty, fmt, Kpi, LocalTime, StatusBadge } from "../ui.tsx";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request);
  return context.mercury.data.fleet();
}

export default function Fleet() {
  const { vehicles, scorecards, counts } = useLoaderData<typeof loader>();
  return (
    <>
      <h1>Fleet</h1>
      <div className="grid">
        <Kpi testId="fleet-vehicles" label="Vehicles" value={fmt.int(counts.vehicles)} />
        <Kpi testId="fleet-active" label="Active (on a session)" value={fmt.int(counts.active)} />
        <Kpi testId="fleet-idle" label="Idle (heard within 30 min)" value={fmt.int(counts.idle)} />
        <Kpi testId="fleet-offline" label="Offline" value={fmt.int(counts.offline)} />
      </div>
      {vehicles.length === 0 ? (
        <Empty>No vehicle has reported yet.</Empty>
      ) : (
        <div className="grid wide">
          <section className="card table-wrap">
            <h2>Top performers (courier scorecards)</h2>
            <table data-testid="scorecards">
              <thead>
                <tr>
                  <th>Courier</th>
                  <th>Score</th>
                  <th>Sessions</th>
                  <th>Completed</th>
                  <th>On time</th>
                  <th>Deliveries / active h</th>
                  <th>Distance</th>
                </tr>
              </thead>
              <tbody>
                {scorecards.map((c) => (
                  <tr key={c.vehicle_id}>
                    <td className="mono">
                      <Link to={`/sessions?q=${c.vehicle_id}`}>{c.vehicle_id.slice(0, 8)}</Link>
                    </td>
                    <td>{c.score === null ? "—" : c.score.toFixed(1)}</td>
                    <td>{fmt.int(c.sessions)}</td>
                    <td>{fmt.pct(c.completion_rate)}</td>
                    <td>{fmt.pct(c.on_time_rate)}</td>
                    <td>
                      {c.deliveries_per_active_hour === null ? "—" : c.deliveries_per_active_hour.toFixed(2)}
                    </td>
                    <td>{fmt.km(c.total_distance_km)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card table-wrap">
            <h2>Vehicles</h2>
            <table data-testid="vehicles">
              <thead>
                <tr>
                  <th>Vehicle</th>
                  <th>Type</th>
                  <th>State</th>
                  <th>Sessions</th>
                  <th>Completed</th>
                  <th>Distance</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {vehicles.map((v) => (
                  <tr key={v.vehicle_id}>
                    <td className="mono">{v.vehicle_id.slice(0, 8)}</td>
                    <td>{v.vehicle_type ?? "—"}</td>
                    <td>
                      <StatusBadge status={v.status} />
                    </td>
                    <td>{fmt.int(v.sessions)}</td>
                    <td>{fmt.int(v.completed_trips)}</td>
                    <td>{fmt.km(v.total_distance_km)}</td>
                    <td>
                      <LocalTime iso={v.last_seen_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      )}
    </>
  );
}
