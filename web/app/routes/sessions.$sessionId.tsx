import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import type { Map as MapLibreMap, Marker } from "maplibre-gl";
import mapStyles from "maplibre-gl/dist/maplibre-gl.css?url";
import { useEffect, useMemo, useRef, useState } from "react";
import { z } from "zod";
import { RawEvents } from "../components/raw-events.tsx";
import { requireSession } from "../guard.server.ts";
import { fmt, LocalTime, StatusBadge } from "../ui.tsx";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: mapStyles }];

const idSchema = z.uuid({ error: "The session id must be a UUID" });

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireSession(context, request);
  const id = idSchema.safeParse(params.sessionId);
  if (!id.success) throw new Response(id.error.issues[0]?.message ?? "Bad session id", { status: 400 });
  const detail = await context.mercury.data.sessionDetail(id.data);
  if (!detail)
    throw new Response(`No session ${id.data} in gold (yet: gold refreshes every minute)`, { status: 404 });
  return detail;
}

const SPEEDS = [1, 2, 5, 10, 20] as const;

/** Position at replay time t (ms): linear between the two pings around it. */
function positionAt(times: number[], path: { lat: number; lon: number }[], t: number): [number, number] {
  let i = times.findIndex((at) => at > t);
  if (i === -1) i = times.length;
  const b = path[Math.min(i, path.length - 1)]!;
  const a = path[Math.max(0, i - 1)]!;
  const ta = times[Math.max(0, i - 1)]!;
  const tb = times[Math.min(i, times.length - 1)]!;
  const f = tb > ta ? Math.min(1, Math.max(0, (t - ta) / (tb - ta))) : 1;
  return [a.lon + (b.lon - a.lon) * f, a.lat + (b.lat - a.lat) * f];
}

export default function SessionDetail() {
  const { summary, path, timeline, endReason } = useLoaderData<typeof loader>();
  const s = summary as Record<string, unknown> & typeof summary;
  const times = useMemo(() => path.map((p) => Date.parse(p.occurred_at)), [path]);
  const start = times[0] ?? 0;
  const end = times.at(-1) ?? 0;
  const [t, setT] = useState(start);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<(typeof SPEEDS)[number]>(10);
  const [follow, setFollow] = useState(true);
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);
  const markerRef = useRef<Marker | null>(null);
  const stopped = useMemo(() => path.filter((p) => p.speed_kmh !== null && p.speed_kmh < 1), [path]);
  const movingSeconds = path.reduce(
    (total, p) => total + ((p.speed_kmh ?? 0) >= 1 ? (p.seconds_since_previous ?? 0) : 0),
    0,
  );
  const maxSpeed = path.reduce((max, p) => Math.max(max, p.speed_kmh ?? 0), 0);

  useEffect(() => {
    let cancelled = false;
    void import("../components/map.client.ts").then(async ({ createMap }) => {
      if (cancelled || !container.current || path.length === 0) return;
      const { map, maplibre } = await createMap(container.current, {
        center: [path[0]!.lon, path[0]!.lat],
        zoom: 13,
      });
      if (cancelled) return map.remove();
      const line = path.map((p) => [p.lon, p.lat]);
      map.addSource("path", {
        type: "geojson",
        data: { type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: line } },
      });
      map.addLayer({
        id: "path",
        type: "line",
        source: "path",
        paint: { "line-color": "#2563eb", "line-width": 4 },
      });
      const marks = [
        ...stopped.map((p) => ({ kind: "stop", at: [p.lon, p.lat] })),
        ...(s.pickup_lon != null
          ? [{ kind: "pickup", at: [s.pickup_lon as number, s.pickup_lat as number] }]
          : []),
        ...(s.dropoff_lon != null
          ? [{ kind: "dropoff", at: [s.dropoff_lon as number, s.dropoff_lat as number] }]
          : []),
      ];
      map.addSource("marks", {
        type: "geojson",
        data: {
          type: "FeatureCollection",
          features: marks.map((m) => ({
            type: "Feature",
            properties: { kind: m.kind },
            geometry: { type: "Point", coordinates: m.at },
          })),
        },
      });
      map.addLayer({
        id: "marks",
        type: "circle",
        source: "marks",
        paint: {
          "circle-radius": ["match", ["get", "kind"], "stop", 4, 7],
          "circle-color": ["match", ["get", "kind"], "pickup", "#f59e0b", "dropoff", "#10b981", "#ef4444"],
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 1.5,
        },
      });
      const bounds = line.reduce(
        (b, p) => b.extend(p as [number, number]),
        new maplibre.LngLatBounds(line[0] as [number, number], line[0] as [number, number]),
      );
      map.fitBounds(bounds, { padding: 40, duration: 0 });
      markerRef.current = new maplibre.Marker({ color: "#0f172a" })
        .setLngLat(line[0] as [number, number])
        .addTo(map);
      const element = markerRef.current.getElement();
      element.dataset.testid = "replay-marker";
      element.dataset.lon = String(line[0]![0]);
      element.dataset.lat = String(line[0]![1]);
      mapRef.current = map;
    });
    return () => {
      cancelled = true;
      mapRef.current?.remove();
      mapRef.current = null;
    };
  }, [path, stopped, s]);

  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    let frame = requestAnimationFrame(function tick(now) {
      const dt = now - last;
      last = now;
      setT((current) => {
        const next = current + dt * speed;
        if (next >= end) {
          setPlaying(false);
          return end;
        }
        return next;
      });
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [playing, speed, end]);

  useEffect(() => {
    if (path.length === 0) return;
    const at = positionAt(times, path, t);
    markerRef.current?.setLngLat(at);
    const element = markerRef.current?.getElement();
    if (element) {
      element.dataset.lon = String(at[0]);
      element.dataset.lat = String(at[1]);
    }
    if (follow && playing) mapRef.current?.setCenter(at);
  }, [t, times, path, follow, playing]);

  return (
    <>
      <h1>
        Session <span className="mono">{s.session_id}</span> <StatusBadge status={s.status} />
      </h1>
      <div className="grid">
        <div className="card kpi">
          <div className="kpi-label">Distance</div>
          <div className="kpi-value" data-testid="detail-distance">
            {fmt.km(s.total_distance_km)}
          </div>
        </div>
        <div className="card kpi">
          <div className="kpi-label">Duration</div>
          <div className="kpi-value">{fmt.minutes(s.duration_seconds)}</div>
          <div className="kpi-trend">
            moving {fmt.minutes(movingSeconds)} · stopped{" "}
            {fmt.minutes(Math.max(0, s.duration_seconds - movingSeconds))}
          </div>
        </div>
        <div className="card kpi">
          <div className="kpi-label">Speed</div>
          <div className="kpi-value">{fmt.speed(s.avg_speed_kmh as number | null)}</div>
          <div className="kpi-trend">average · max {fmt.speed(maxSpeed)}</div>
        </div>
        <div className="card kpi">
          <div className="kpi-label">Vehicle</div>
          <div className="kpi-value">{s.vehicle_type ?? "—"}</div>
          <div className="kpi-trend mono">
            <Link to={`/sessions?q=${s.vehicle_id}`}>{s.vehicle_id.slice(0, 8)}</Link>
          </div>
        </div>
      </div>
      <div className="grid wide">
        <section className="card">
          <h2>Trip replay</h2>
          <div ref={container} className="map" style={{ height: 420 }} data-testid="map" />
          {path.length === 0 ? (
            <p className="empty">This session has no positions to replay.</p>
          ) : (
            <div
              className="inline"
              style={{ display: "flex", gap: "0.5rem", alignItems: "center", marginTop: "0.5rem" }}
            >
              <button
                type="button"
                onClick={() => {
                  if (t >= end) setT(start);
                  setPlaying(t >= end || !playing);
                }}
              >
                {playing ? "Pause" : "Play"}
              </button>
              <label>
                Speed
                <select
                  value={speed}
                  onChange={(e) => setSpeed(Number(e.target.value) as (typeof SPEEDS)[number])}
                >
                  {SPEEDS.map((x) => (
                    <option key={x} value={x}>
                      {x}×
                    </option>
                  ))}
                </select>
              </label>
              <label style={{ flex: 1 }}>
                Time
                <input
                  type="range"
                  aria-label="Replay position"
                  min={start}
                  max={end}
                  value={t}
                  onChange={(e) => setT(Number(e.target.value))}
                />
              </label>
              <label style={{ flexDirection: "row", alignItems: "center" }}>
                <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />{" "}
                follow
              </label>
              <LocalTime iso={new Date(t).toISOString()} />
            </div>
          )}
        </section>
        <section className="card">
          <h2>Timeline</h2>
          <table>
            <tbody>
              <tr>
                <th>started</th>
                <td>
                  <LocalTime iso={s.start_time} />
                </td>
              </tr>
              {timeline.map((step) => (
                <tr key={step.step}>
                  <th>{step.step}</th>
                  <td>
                    <LocalTime iso={step.at} />
                  </td>
                </tr>
              ))}
              <tr>
                <th>promised</th>
                <td>
                  <LocalTime iso={s.promised_at as string | null} />
                </td>
              </tr>
              <tr>
                <th>end reason</th>
                <td>{endReason ?? "—"}</td>
              </tr>
              <tr>
                <th>pings</th>
                <td>{fmt.int(s.ping_count)}</td>
              </tr>
              <tr>
                <th>stops (speed under 1 km/h)</th>
                <td>{stopped.length}</td>
              </tr>
            </tbody>
          </table>
          <h2 style={{ marginTop: "1rem" }}>Positions</h2>
          <div className="table-wrap" style={{ maxHeight: 260, overflowY: "auto" }}>
            <table>
              <thead>
                <tr>
                  <th>time</th>
                  <th>lat, lon</th>
                  <th>speed</th>
                  <th>step</th>
                </tr>
              </thead>
              <tbody>
                {path.map((p, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: two pings may share time and place; the list never reorders
                  <tr key={i}>
                    <td>
                      <LocalTime iso={p.occurred_at} withDate={false} />
                    </td>
                    <td className="mono">
                      {p.lat.toFixed(5)}, {p.lon.toFixed(5)}
                    </td>
                    <td>{fmt.speed(p.speed_kmh)}</td>
                    <td>{p.distance_m === null ? "—" : `${Math.round(p.distance_m)} m`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
      <RawEvents sessionId={s.session_id} from={s.start_time} to={s.end_time as string | null} />
    </>
  );
}
