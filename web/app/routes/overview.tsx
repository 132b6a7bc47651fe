import type { LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { StartedDeliveredChart } from "../components/started-delivered-chart.tsx";
import { requireSession } from "../guard.server.ts";
import { ClientOnly, Empty, fmt, Kpi, LocalTime, StatusBadge } from "../ui.tsx";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request);
  return context.mercury.data.overview();
}

function trend(today: number | null | undefined, yesterday: number | null | undefined): number | null {
  return today === null || today === undefined || yesterday === null || yesterday === undefined
    ? null
    : Math.sign(today - yesterday);
}

export default function Overview() {
  const { days, fleet, recent } = useLoaderData<typeof loader>();
  const today = days.at(-1);
  const yesterday = days.at(-2);
  if (!today) {
    return (
      <>
        <h1>Overview</h1>
        <Empty>
          No sessions in the gold tables yet. Start the simulator (npm start -- --simulate) or replay a
          fixture (npm run replay -- events/fixtures/athens-seed42-v2.ndjson); gold refreshes every minute.
        </Empty>
      </>
    );
  }
  return (
    <>
      <h1>
        Overview{" "}
        <small className="kpi-trend">
          latest day with sessions: {today.day} (UTC) against the day before
        </small>
      </h1>
      <div className="grid">
        <Kpi
          testId="kpi-sessions"
          label="Sessions started"
          value={fmt.int(today.sessions_started)}
          previous={fmt.int(yesterday?.sessions_started)}
          trend={trend(today.sessions_started, yesterday?.sessions_started)}
        />
        <Kpi
          testId="kpi-orders"
          label="Orders delivered"
          value={fmt.int(today.sessions_completed)}
          previous={fmt.int(yesterday?.sessions_completed)}
          trend={trend(today.sessions_completed, yesterday?.sessions_completed)}
        />
        <Kpi
          testId="kpi-fleet"
          label="Fleet active now"
          value={`${fmt.int(fleet.active)} / ${fmt.int(fleet.vehicles)}`}
        />
        <Kpi
          testId="kpi-distance"
          label="Distance"
          value={fmt.km(today.total_distance_km)}
          previous={fmt.km(yesterday?.total_distance_km)}
          trend={trend(today.total_distance_km, yesterday?.total_distance_km)}
        />
      </div>
      <div className="grid wide">
        <section className="card">
          <h2>Sessions by day (two weeks)</h2>
          <div className="chart">
            <StartedDeliveredChart data={days} xKey="day" tickFormatter={(d) => d.slice(5)} />
          </div>
        </section>
        <section className="card">
          <h2>Distance by day (km)</h2>
          <div className="chart">
            <ClientOnly>
              {() => (
                <ResponsiveContainer>
                  <LineChart data={days}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} />
                    <YAxis />
                    <Tooltip formatter={(v) => fmt.km(Number(v))} />
                    <Line
                      isAnimationActive={false}
                      dataKey="total_distance_km"
                      name="distance"
                      stroke="#8b5cf6"
                      dot={false}
                    />
                  </LineChart>
                </ResponsiveContainer>
              )}
            </ClientOnly>
          </div>
        </section>
      </div>
      <div className="grid wide">
        <section className="card">
          <h2>Delivery time ({today.day})</h2>
          <table data-testid="percentiles">
            <tbody>
              <tr>
                <th>p50</th>
                <td data-testid="p50">{fmt.minutes(today.p50_delivery_seconds)}</td>
              </tr>
              <tr>
                <th>p90</th>
                <td data-testid="p90">{fmt.minutes(today.p90_delivery_seconds)}</td>
              </tr>
              <tr>
                <th>p99</th>
                <td data-testid="p99">{fmt.minutes(today.p99_delivery_seconds)}</td>
              </tr>
              <tr>
                <th>average</th>
                <td>{fmt.minutes(today.avg_delivery_seconds)}</td>
              </tr>
              <tr>
                <th>completion rate</th>
                <td>{fmt.pct(today.completion_rate)}</td>
              </tr>
              <tr>
                <th>on time</th>
                <td>{fmt.pct(today.on_time_rate)}</td>
              </tr>
            </tbody>
          </table>
        </section>
        <section className="card">
          <h2>Recent sessions</h2>
          <div className="table-wrap">
            <table data-testid="recent-sessions">
              <thead>
                <tr>
                  <th>Started</th>
                  <th>Session</th>
                  <th>Status</th>
                  <th>Distance</th>
                  <th>Duration</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((s) => (
                  <tr key={s.session_id}>
                    <td>
                      <LocalTime iso={s.start_time} />
                    </td>
                    <td className="mono">
                      <Link to={`/sessions/${s.session_id}`}>{s.session_id.slice(0, 8)}</Link>
                    </td>
                    <td>
                      <StatusBadge status={s.status} />
                    </td>
                    <td>{fmt.km(s.total_distance_km)}</td>
                    <td>{fmt.minutes(s.duration_seconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </>
  );
}
