import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import type { Map as MapLibreMap } from "maplibre-gl";
import mapStyles from "maplibre-gl/dist/maplibre-gl.css?url";
import { useEffect, useMemo, useRef, useState } from "react";
import type { LiveCourier, LiveUpdate } from "../../server/live.ts";
import { requireSession } from "../guard.server.ts";
import { LiveSource } from "../live-feed.ts";
import { Empty, fmt, LocalTime, STATUS_COLOURS, StatusBadge } from "../ui.tsx";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: mapStyles }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request);
  return { couriers: context.mercury.live.snapshot() };
}

function toRad(deg: number) {
  return (deg * Math.PI) / 180;
}

/** Great-circle distance in km (the one docs/metrics.md uses for distance remaining). */
function distanceKm(a: [number, number], b: [number, number]) {
  const dLat = toRad(b[1] - a[1]);
  const dLon = toRad(b[0] - a[0]);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a[1])) * Math.cos(toRad(b[1])) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
}

function etaMinutes(courier: LiveCourier): number | null {
  if (!courier.dropoff || !courier.speedKmh || courier.speedKmh < 1) return null;
  return (distanceKm([courier.lon, courier.lat], courier.dropoff) / courier.speedKmh) * 60;
}

function geojson(couriers: LiveCourier[], selected: string | null) {
  const colour = (status: string) => STATUS_COLOURS[status] ?? STATUS_COLOURS.unknown!;
  return {
    positions: {
      type: "FeatureCollection" as const,
      features: couriers.map((c) => ({
        type: "Feature" as const,
        properties: { id: c.sessionId, colour: colour(c.status), selected: c.sessionId === selected ? 1 : 0 },
        geometry: { type: "Point" as const, coordinates: [c.lon, c.lat] },
      })),
    },
    trails: {
      type: "FeatureCollection" as const,
      features: couriers
        .filter((c) => c.trail.length > 1)
        .map((c) => ({
          type: "Feature" as const,
          properties: { id: c.sessionId, colour: colour(c.status) },
          geometry: { type: "LineString" as const, coordinates: c.trail },
        })),
    },
    stops: {
      type: "FeatureCollection" as const,
      features: couriers.flatMap((c) =>
        (
          [
            ["pickup", c.pickup],
            ["dropoff", c.dropoff],
          ] as const
        ).flatMap(([kind, at]) =>
          at && (selected === null || selected === c.sessionId)
            ? [
                {
                  type: "Feature" as const,
                  properties: { kind },
                  geometry: { type: "Point" as const, coordinates: at },
                },
              ]
            : [],
        ),
      ),
    },
  };
}

export default function LiveMap() {
  const initial = useLoaderData<typeof loader>();
  const [couriers, setCouriers] = useState<Map<string, LiveCourier>>(
    () => new Map(initial.couriers.map((c) => [c.sessionId, c])),
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [follow, setFollow] = useState(false);
  const [search, setSearch] = useState("");
  const [connected, setConnected] = useState(false);
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);

  useEffect(() => {
    let cancelled = false;
    void import("../components/map.client.ts").then(async ({ createMap }) => {
      if (cancelled || !container.current) return;
      const { map } = await createMap(container.current);
      if (cancelled) {
        map.remove();
        return;
      }
      const empty = { type: "FeatureCollection" as const, features: [] };
      map.addSource("trails", { type: "geojson", data: empty });
      map.addSource("positions", { type: "geojson", data: empty });
      map.addSource("stops", { type: "geojson", data: empty });
      map.addLayer({
        id: "trails",
        type: "line",
        source: "trails",
        paint: { "line-color": ["get", "colour"], "line-width": 3, "line-opacity": 0.6 },
      });
      map.addLayer({
        id: "stops",
        type: "circle",
        source: "stops",
        paint: {
          "circle-radius": 6,
          "circle-color": ["match", ["get", "kind"], "pickup", "#f59e0b", "#10b981"],
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 2,
        },
      });
      map.addLayer({
        id: "positions",
        type: "circle",
        source: "positions",
        paint: {
          "circle-radius": ["case", ["==", ["get", "selected"], 1], 9, 6],
          "circle-color": ["get", "colour"],
          "circle-stroke-color": "#0f172a",
          "circle-stroke-width": 1.5,
        },
      });
      map.on("click", "positions", (event) => {
        const id = event.features?.[0]?.properties?.id;
        if (typeof id === "string") setSelected(id);
      });
      mapRef.current = map;
      setCouriers((current) => new Map(current));
    });
    return () => {
      cancelled = true;
      mapRef.current?.remove();
      mapRef.current = null;
    };
  }, []);

  useEffect(() => {
    const source = new LiveSource("/api/live", "/map?_data=routes%2Fmap");
    source.addEventListener("open", () => setConnected(true));
    source.addEventListener("error", () => setConnected(false));
    source.addEventListener("snapshot", (event) => {
      const { couriers: all } = JSON.parse((event as MessageEvent).data) as { couriers: LiveCourier[] };
      setCouriers(new Map(all.map((c) => [c.sessionId, c])));
    });
    source.addEventListener("update", (event) => {
      const { changed, removed } = JSON.parse((event as MessageEvent).data) as LiveUpdate;
      setCouriers((current) => {
        const next = new Map(current);
        for (const c of changed) {
          // Updates carry the new position only: the trail grows here.
          const before = current.get(c.sessionId);
          const moved = !before || before.lat !== c.lat || before.lon !== c.lon;
          const trail: [number, number][] = before
            ? moved
              ? [...before.trail, [c.lon, c.lat] as [number, number]].slice(-60)
              : before.trail
            : [[c.lon, c.lat]];
          next.set(c.sessionId, { ...c, trail });
        }
        for (const id of removed) next.delete(id);
        return next;
      });
    });
    return () => source.close();
  }, []);

  const list = useMemo(() => [...couriers.values()].sort((a, b) => b.at - a.at), [couriers]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map) return;
    const data = geojson(list, selected);
    for (const id of ["positions", "trails", "stops"] as const) {
      (map.getSource(id) as import("maplibre-gl").GeoJSONSource | undefined)?.setData(data[id]);
    }
    const chosen = selected ? couriers.get(selected) : undefined;
    if (follow && chosen) map.easeTo({ center: [chosen.lon, chosen.lat], duration: 300 });
  }, [list, selected, follow, couriers]);

  const shown = list.filter(
    (c) => !search || c.sessionId.startsWith(search.trim()) || (c.vehicleId ?? "").startsWith(search.trim()),
  );
  const chosen = selected ? couriers.get(selected) : undefined;

  return (
    <>
      <h1>
        Live map{" "}
        <small className="kpi-trend" data-testid="live-status">
          {list.length} active couriers · {connected ? "live" : "connecting…"}
        </small>
      </h1>
      <div className="map-page">
        <div
          ref={container}
          className="map"
          data-testid="map"
          role="img"
          aria-label="Map of active couriers"
        />
        <aside className="side card">
          <label>
            Search session or vehicle
            <input value={search} onChange={(e) => setSearch(e.target.value)} placeholder="id prefix" />
          </label>
          <label style={{ flexDirection: "row", alignItems: "center", margin: "0.5rem 0" }}>
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
            the selected courier
          </label>
          {chosen ? (
            <div className="card" data-testid="courier-detail">
              <div className="mono">{chosen.sessionId}</div>
              <StatusBadge status={chosen.status} /> {chosen.vehicleType ?? ""}
              <div>
                last fix <LocalTime iso={new Date(chosen.at).toISOString()} />
              </div>
              <div>speed {fmt.speed(chosen.speedKmh)}</div>
              <div>ETA {etaMinutes(chosen) === null ? "—" : `${etaMinutes(chosen)!.toFixed(0)} min`}</div>
              <Link to={`/sessions/${chosen.sessionId}`}>Session detail</Link>
            </div>
          ) : null}
          {shown.length === 0 ? (
            <Empty>No courier is active. Couriers appear here as soon as their events arrive.</Empty>
          ) : (
            <ul>
              {shown.map((c) => (
                <li key={c.sessionId}>
                  <button
                    type="button"
                    aria-pressed={c.sessionId === selected}
                    onClick={() => setSelected(c.sessionId === selected ? null : c.sessionId)}
                    data-testid={`courier-${c.sessionId}`}
                    data-lat={c.lat}
                    data-lon={c.lon}
                  >
                    <span
                      className="dot"
                      style={{ background: STATUS_COLOURS[c.status] ?? STATUS_COLOURS.unknown }}
                    />
                    <span className="mono">{c.sessionId.slice(0, 8)}</span> {c.status.replace("_", " ")}
                    <div className="kpi-trend">
                      {c.lat.toFixed(5)}, {c.lon.toFixed(5)}
                    </div>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </aside>
      </div>
    </>
  );
}
