import { useEffect, useState } from "react";

/** Small presentational pieces shared by the pages. */

export function LocalTime({ iso, withDate = true }: { iso: string | null | undefined; withDate?: boolean }) {
  // The server does not know the browser's zone: it renders UTC, the browser re-renders in its own zone.
  const [text, setText] = useState(() => (iso ? `${iso.replace("T", " ").slice(0, 19)} UTC` : "—"));
  useEffect(() => {
    if (!iso) return;
    const date = new Date(iso);
    setText(withDate ? date.toLocaleString() : date.toLocaleTimeString());
  }, [iso, withDate]);
  return iso ? <time dateTime={iso}>{text}</time> : <span>—</span>;
}

export const fmt = {
  int: (n: number | null | undefined) =>
    n === null || n === undefined ? "—" : Math.round(n).toLocaleString("en-US"),
  km: (n: number | null | undefined) => (n === null || n === undefined ? "—" : `${n.toFixed(1)} km`),
  pct: (n: number | null | undefined) => (n === null || n === undefined ? "—" : `${(n * 100).toFixed(1)}%`),
  minutes: (seconds: number | null | undefined) =>
    seconds === null || seconds === undefined ? "—" : `${(seconds / 60).toFixed(1)} min`,
  speed: (n: number | null | undefined) => (n === null || n === undefined ? "—" : `${n.toFixed(1)} km/h`),
};

export function Kpi(props: {
  label: string;
  value: string;
  previous?: string;
  trend?: number | null;
  testId?: string;
}) {
  const trend = props.trend;
  return (
    <div className="card kpi" data-testid={props.testId}>
      <div className="kpi-label">{props.label}</div>
      <div className="kpi-value" data-testid={props.testId ? `${props.testId}-value` : undefined}>
        {props.value}
      </div>
      {props.previous !== undefined ? (
        <div className="kpi-trend">
          {trend === null || trend === undefined ? "" : trend > 0 ? "▲ " : trend < 0 ? "▼ " : "= "}
          yesterday {props.previous}
        </div>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status.replace("_", " ")}</span>;
}

export const STATUS_COLOURS: Record<string, string> = {
  started: "#3b82f6",
  en_route: "#8b5cf6",
  picked_up: "#f59e0b",
  arrived: "#10b981",
  unknown: "#6b7280",
};

/** Charts measure their container, which exists only in the browser: rendered after hydration. */
export function ClientOnly({ children }: { children: () => React.ReactNode }) {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted ? children() : null;
}
