import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import mapStyles from "maplibre-gl/dist/maplibre-gl.css?url";
import { useEffect, useRef } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { z } from "zod";
import { StartedDeliveredChart } from "../components/started-delivered-chart.tsx";
import { requireSession } from "../guard.server.ts";
import { ClientOnly, Empty, fmt, Kpi } from "../ui.tsx";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: mapStyles }];

const PERIODS = { day: 1, week: 7, month: 30, year: 365 } as const;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date (YYYY-MM-DD)" });
export const analyticsSchema = z.object({
  period: z.enum(["day", "week", "month", "year", "custom"]).default("week"),
  from: day.optional(),
  to: day.optional(),
});

const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request);
  const params = Object.fromEntries(
    [...new URL(request.url).searchParams].filter(([key, value]) => value !== "" && !key.startsWith("_")),
  );
  const parsed = analyticsSchema.safeParse(params);
  if (!parsed.success) {
    throw new Response(
      `Invalid period: ${parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`).join("; ")}`,
      {
        status: 400,
      },
    );
  }
  const { period } = parsed.data;
  const { data } = context.mercury;
  // Periods end with the newest day that has sessions in gold, so a replayed history shows as well as today.
  const latest = (await data.latestDay()) ?? new Date().toISOString().slice(0, 10);
  let range: { from: string; to: string };
  if (period === "custom") {
    if (!parsed.data.from || !parsed.data.to)
      throw new Response("A custom period needs from and to", { status: 400 });
    range = { from: parsed.data.from, to: addDays(parsed.data.to, 1) };
  } else {
    range = { from: addDays(latest, 1 - PERIODS[period]), to: addDays(latest, 1) };
  }
  return { period, range, ...(await data.analytics(range)) };
}

function Heatmap({
  cells,
}: {
  cells: { cell_lat: number; cell_lon: number; pickups: number; dropoffs: number }[];
}) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let map: import("maplibre-gl").Map | undefined;
    let cancelled = false;
    void import("../components/map.client.ts").then(async ({ createMap }) => {
      if (cancelled || !container.current) return;
      ({ map } = await createMap(container.current, { zoom: 10.5 }));
      map.addSource("cells", {
        type: "geojson",
        data: {
          type: "FeatureCollection",
          features: cells.map((c) => ({
            type: "Feature",
            properties: { weight: c.pickups + c.dropoffs },
            geometry: { type: "Point", coordinates: [c.cell_lon, c.cell_lat] },
          })),
        },
      });
      map.addLayer({
        id: "heat",
        type: "heatmap",
        source: "cells",
        paint: { "heatmap-weight": ["get", "weight"], "heatmap-radius": 30, "heatmap-opacity": 0.8 },
      });
    });
    return () => {
      cancelled = true;
      map?.remove();
    };
  }, [cells]);
  return <div ref={container} className="map" style={{ height: 360 }} data-testid="map" />;
}

export default function Analytics() {
  const { period, range, totals, hourly, buckets, delays, heatmap, byDay, peakHour } =
    useLoaderData<typeof loader>();
  const hasData = (totals?.sessions_started ?? 0) > 0;
  return (
    <>
      <h1>Analytics</h1>
      <Form method="get" className="inline card">
        <label>
          Period
          <select name="period" defaultValue={period}>
            {["day", "week", "month", "year", "custom"].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          From (custom)
          <input type="date" name="from" defaultValue={range.from} />
        </label>
        <label>
          To (custom, inclusive)
          <input type="date" name="to" />
        </label>
        <button type="submit">Show</button>
        <span className="kpi-trend">
          UTC days {range.from} to {range.to} (exclusive)
        </span>
      </Form>
      {!hasData ? (
        <Empty>No sessions started in this period. Pick a longer period or another range.</Empty>
      ) : (
        <>
          <div className="grid">
            <Kpi testId="an-completion" label="Completion rate" value={fmt.pct(totals?.completion_rate)} />
            <Kpi testId="an-ontime" label="On-time rate" value={fmt.pct(totals?.on_time_rate)} />
            <Kpi
              testId="an-duration"
              label="Average delivery"
              value={fmt.minutes(totals?.avg_delivery_seconds)}
            />
            <Kpi testId="an-distance" label="Average distance" value={fmt.km(totals?.avg_distance_km)} />
            <Kpi
              testId="an-peak"
              label="Peak hour (UTC)"
              value={peakHour === null ? "—" : `${peakHour}:00`}
            />
            <Kpi
              testId="an-delay"
              label="Average delay (capped ±90 min)"
              value={delays?.delay_minutes == null ? "—" : `${delays.delay_minutes.toFixed(1)} min`}
            />
          </div>
          <div className="grid wide">
            <section className="card">
              <h2>Deliveries per hour (UTC)</h2>
              <div className="chart">
                <StartedDeliveredChart data={hourly} xKey="hour" legend />
              </div>
            </section>
            <section className="card">
              <h2>Delivery duration</h2>
              <div className="chart">
                <ClientOnly>
                  {() => (
                    <ResponsiveContainer>
                      <BarChart data={buckets}>
                        <CartesianGrid strokeDasharray="3 3" />
                        <XAxis dataKey="bucket" />
                        <YAxis allowDecimals={false} />
                        <Tooltip />
                        <Bar isAnimationActive={false} dataKey="sessions" name="deliveries" fill="#8b5cf6" />
                      </BarChart>
                    </ResponsiveContainer>
                  )}
                </ClientOnly>
              </div>
            </section>
            <section className="card">
              <h2>Completion time by day (percentiles, min)</h2>
              <div className="chart">
                <ClientOnly>
                  {() => (
                    <ResponsiveContainer>
                      <LineChart
                        data={byDay.map((d) => ({
                          day: d.day,
                          p50: (d.p50_delivery_seconds ?? 0) / 60,
                          p90: (d.p90_delivery_seconds ?? 0) / 60,
                          p99: (d.p99_delivery_seconds ?? 0) / 60,
                        }))}
                      >
                        <CartesianGrid strokeDasharray="3 3" />
                        <XAxis dataKey="day" />
                        <YAxis />
                        <Tooltip formatter={(v) => `${Number(v).toFixed(1)} min`} />
                        <Legend />
                        <Line isAnimationActive={false} dataKey="p50" stroke="#2563eb" />
                        <Line isAnimationActive={false} dataKey="p90" stroke="#f59e0b" />
                        <Line isAnimationActive={false} dataKey="p99" stroke="#ef4444" />
                      </LineChart>
                    </ResponsiveContainer>
                  )}
                </ClientOnly>
              </div>
            </section>
            <section className="card">
              <h2>Demand (pick-ups and drop-offs by H3 cell)</h2>
              <Heatmap cells={heatmap} />
            </section>
          </div>
        </>
      )}
    </>
  );
}
