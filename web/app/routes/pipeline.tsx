import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect } from "react";
import { ModelRunsCard, PlatformHealthCard } from "../components/pipeline-health.tsx";
import { requireSession } from "../guard.server.ts";
import { Empty, fmt, Kpi, LocalTime } from "../ui.tsx";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await requireSession(context, request);
  const { data, pipeline, live, health } = context.mercury;
  const [freshness, log, reading, runs] = await Promise.all([
    data.freshness(),
    pipeline?.snapshot(),
    health?.(),
    data.modelRuns().catch((error: Error) => ({ error: error.message })),
  ]);
  // Details name paths, addresses and errors: for admins only, as /health shows them only with the API key.
  const admin = session.user.role === "admin";
  const shown =
    reading?.state === "read"
      ? {
          ...reading,
          health: {
            ...reading.health,
            components: reading.health.components.map(({ detail, ...c }) => (admin ? { ...c, detail } : c)),
          },
        }
      : reading;
  return { freshness, log: log ?? null, liveConnections: live.listenerCount, health: shown ?? null, runs };
}

function lagText(seconds: number | null) {
  if (seconds === null) return "—";
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export default function Pipeline() {
  const { freshness, log, liveConnections, health, runs } = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  // The figures are cheap to read; refreshed every 5 s while the page is open.
  useEffect(() => {
    const timer = setInterval(() => revalidator.state === "idle" && revalidator.revalidate(), 5000);
    return () => clearInterval(timer);
  }, [revalidator]);
  return (
    <>
      <h1>Pipeline health</h1>
      {log ? (
        <div className="grid">
          <Kpi testId="pl-rate" label="Events in (per second)" value={log.eventsPerSecond.toFixed(1)} />
          <Kpi testId="pl-total" label="Events in the log" value={fmt.int(log.totalEvents)} />
          <Kpi testId="pl-rejected" label="Rejected (DLQ)" value={fmt.int(log.rejectedTotal)} />
          <Kpi label="Live map connections" value={fmt.int(liveConnections)} />
        </div>
      ) : (
        <p className="empty">
          Event log figures show when Mercury runs in the platform's process (npm start); on its own it sees
          ClickHouse only.
        </p>
      )}
      <div className="grid wide">
        <PlatformHealthCard health={health} />
        <ModelRunsCard runs={runs} />
      </div>
      <div className="grid wide">
        <section className="card">
          <h2>Freshness by layer (gold's last run)</h2>
          <table data-testid="freshness">
            <thead>
              <tr>
                <th>Layer</th>
                <th>Newest event</th>
                <th>Behind</th>
              </tr>
            </thead>
            <tbody>
              {freshness.map((f) => (
                <tr key={f.layer}>
                  <td>{f.layer}</td>
                  <td>{f.available ? <LocalTime iso={f.newest_event_at} /> : "not available here"}</td>
                  <td>{lagText(f.lag_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {freshness[0] ? (
            <p className="kpi-trend">
              last gold run <LocalTime iso={freshness[0].as_of} />
            </p>
          ) : (
            <Empty>Gold has not run yet: Uranus runs every minute.</Empty>
          )}
        </section>
        {log ? (
          <section className="card">
            <h2>Consumer lag (records behind)</h2>
            <table data-testid="lag">
              <tbody>
                {log.lag.map((l) => (
                  <tr key={l.groupId}>
                    <th>{l.functionName}</th>
                    <td className="mono">{l.groupId}</td>
                    <td>{fmt.int(l.lag)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null}
        {log ? (
          <section className="card">
            <h2>Rejected events by reason</h2>
            {log.rejected.length === 0 ? (
              <Empty>Nothing rejected.</Empty>
            ) : (
              <table data-testid="dlq">
                <thead>
                  <tr>
                    <th>Reason</th>
                    <th>By</th>
                    <th>Count</th>
                    <th>Example</th>
                  </tr>
                </thead>
                <tbody>
                  {log.rejected.map((r) => (
                    <tr key={`${r.reason}-${r.rejectedBy}`}>
                      <td>{r.reason}</td>
                      <td>{r.rejectedBy}</td>
                      <td>{fmt.int(r.count)}</td>
                      <td className="mono" style={{ whiteSpace: "normal", maxWidth: 420 }}>
                        {r.examples[0]?.error}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        ) : null}
      </div>
    </>
  );
}
