import type { ModelStatus, UranusRun } from "../../server/data.ts";
import type { PlatformHealthReading } from "../../server/health.ts";
import { Empty, fmt, LocalTime } from "../ui.tsx";

/** The pipeline page's health model (shared/health) and Uranus's last runs (uranus_runs). */

const STATUS_STYLE: Record<string, { background: string; color: string }> = {
  ok: { background: "#dcfce7", color: "#166534" },
  degraded: { background: "#fef9c3", color: "#854d0e" },
  failing: { background: "#fee2e2", color: "#991b1b" },
  success: { background: "#dcfce7", color: "#166534" },
  failed: { background: "#fee2e2", color: "#991b1b" },
  skipped: { background: "#f3f4f6", color: "#374151" },
};

function Status({ status, testId }: { status: string; testId?: string }) {
  const style = STATUS_STYLE[status] ?? STATUS_STYLE.skipped;
  return (
    <span
      data-testid={testId}
      style={{ ...style, padding: "0.1rem 0.45rem", borderRadius: 999, fontSize: "0.8rem", fontWeight: 600 }}
    >
      {status}
    </span>
  );
}

const duration = (ms: number) => (ms < 10_000 ? `${fmt.int(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

export function PlatformHealthCard({ health }: { health: PlatformHealthReading | null }) {
  return (
    <section className="card">
      <h2>
        Health of each component{" "}
        {health?.state === "read" ? <Status status={health.health.status} testId="health-status" /> : null}
      </h2>
      {!health ? (
        <Empty>The health model is not configured here.</Empty>
      ) : health.state === "unreachable" ? (
        <p className="empty" data-testid="health-unreachable">
          The platform's health model could not be read from {health.url}: {health.message}.
        </p>
      ) : (
        <>
          <table data-testid="health">
            <thead>
              <tr>
                <th>Component</th>
                <th>Status</th>
                <th>Since</th>
                <th>Why, and figures</th>
              </tr>
            </thead>
            <tbody>
              {health.health.components.map((c) => (
                <tr key={c.component} data-testid={`health-${c.component}`}>
                  <th className="mono">{c.component}</th>
                  <td>
                    <Status status={c.status} />
                  </td>
                  <td>
                    <LocalTime iso={c.since} />
                  </td>
                  <td style={{ whiteSpace: "normal" }}>
                    {c.reason}
                    {c.facts && Object.keys(c.facts).length > 0 ? (
                      <div className="kpi-trend mono">
                        {Object.entries(c.facts)
                          .map(([k, v]) => `${k}: ${v ?? "—"}`)
                          .join(" · ")}
                      </div>
                    ) : null}
                    {c.detail ? <div className="kpi-trend mono">{c.detail}</div> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="kpi-trend">
            checked <LocalTime iso={health.health.checkedAt} />
          </p>
        </>
      )}
    </section>
  );
}

export function ModelRunsCard({
  runs,
}: {
  runs: { models: ModelStatus[]; recent: UranusRun[] } | { error: string };
}) {
  return (
    <section className="card">
      <h2>Last model runs (Uranus)</h2>
      {"error" in runs ? (
        <p className="empty" data-testid="runs-error">
          Gold's run records could not be read ({runs.error}). Uranus creates them on its first run.
        </p>
      ) : runs.recent.length === 0 ? (
        <Empty>
          Uranus has not run yet: it refreshes gold every minute under npm start (npm run uranus).
        </Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="model-runs">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Last run</th>
                  <th>Duration</th>
                  <th>Rows</th>
                  <th>Status</th>
                  <th>Last success</th>
                </tr>
              </thead>
              <tbody>
                {runs.models.map((m) => (
                  <tr key={m.model} data-testid={`model-${m.model}`}>
                    <th className="mono">{m.model}</th>
                    <td>
                      <LocalTime iso={m.last_started_at} />
                    </td>
                    <td data-testid="model-duration">{duration(m.last_duration_ms)}</td>
                    <td data-testid="model-rows">{fmt.int(m.last_rows)}</td>
                    <td style={{ whiteSpace: "normal" }}>
                      <Status status={m.last_outcome} testId="model-outcome" />
                      {m.last_error ? (
                        <div className="kpi-trend mono" data-testid="model-error">
                          {m.last_error}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      <LocalTime iso={m.last_success_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2 style={{ marginTop: "1rem" }}>Recent runs</h2>
          <div className="table-wrap">
            <table data-testid="recent-runs">
              <thead>
                <tr>
                  <th>Started</th>
                  <th>Mode</th>
                  <th>Duration</th>
                  <th>Models</th>
                  <th>Rows written</th>
                  <th>Failed / skipped</th>
                </tr>
              </thead>
              <tbody>
                {runs.recent.map((r) => (
                  <tr key={r.run_id} data-testid="run-row" title={r.errors || undefined}>
                    <td>
                      <LocalTime iso={r.run_started_at} />
                    </td>
                    <td>{r.run_mode}</td>
                    <td>{duration(r.run_duration_ms)}</td>
                    <td>{r.models}</td>
                    <td>{fmt.int(r.run_rows_written)}</td>
                    <td>
                      {r.failed} / {r.skipped}
                      {r.errors ? <div className="kpi-trend mono">{r.errors}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
