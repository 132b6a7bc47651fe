import type { Feature, FeatureCollection } from "geojson";
import type { Map as MapLibreMap, StyleSpecification } from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import type { BaseMapSettings } from "../../server/base-map.ts";

/**
 * The map every page draws on (decisions 027 and 033). Without a Mapbox token: maplibre-gl with an inline
 * style, the world outline (/api/world) under the simulator's road network (/api/base-map); nothing is
 * fetched from another host. With MAPBOX_ACCESS_TOKEN set on the server: mapbox-gl with Mapbox's style and
 * the public token. Both have the mapbox-gl API, so the pages add their layers the same way. Vite emits
 * maplibre's worker only when it is imported with `?url`, and maplibre must be told where it is.
 */

export const ATHENS: [number, number] = [23.7275, 37.9838];

/** The offline style's colours; the browser tests count pixels of these. */
export const OFFLINE_COLOURS = {
  sea: "#cfdeea",
  land: "#eef1f4",
  coast: "#8fa3b8",
  border: "#a7b4c4",
} as const;

export const OFFLINE_STYLE: StyleSpecification = {
  version: 8,
  sources: {
    world: { type: "geojson", data: "/api/world" },
    roads: { type: "geojson", data: "/api/base-map" },
  },
  layers: [
    { id: "background", type: "background", paint: { "background-color": OFFLINE_COLOURS.sea } },
    {
      id: "land",
      type: "fill",
      source: "world",
      filter: ["==", ["get", "kind"], "land"],
      paint: { "fill-color": OFFLINE_COLOURS.land },
    },
    {
      id: "coast",
      type: "line",
      source: "world",
      filter: ["==", ["get", "kind"], "land"],
      paint: { "line-color": OFFLINE_COLOURS.coast, "line-width": 1 },
    },
    {
      id: "borders",
      type: "line",
      source: "world",
      filter: ["==", ["get", "kind"], "border"],
      paint: { "line-color": OFFLINE_COLOURS.border, "line-width": 1, "line-dasharray": [3, 2] },
    },
    {
      id: "roads-minor",
      type: "line",
      source: "roads",
      filter: ["in", ["get", "class"], ["literal", ["residential", "secondary"]]],
      paint: { "line-color": "#cfd6de", "line-width": 1.5 },
    },
    {
      id: "roads-major",
      type: "line",
      source: "roads",
      filter: ["in", ["get", "class"], ["literal", ["motorway", "trunk", "primary"]]],
      paint: { "line-color": "#b4bfcb", "line-width": 3 },
    },
    {
      id: "places",
      type: "circle",
      source: "roads",
      filter: ["==", ["get", "kind"], "place"],
      paint: { "circle-radius": 2, "circle-color": "#94a3b8" },
    },
  ],
};

type MapModule = typeof import("maplibre-gl");

async function baseMapSettings(): Promise<BaseMapSettings> {
  const response = await fetch("/api/map-style", { credentials: "same-origin" });
  // The offline map needs nothing but Mercury: it is the answer whenever the settings cannot be read.
  if (!response.ok) return { provider: "offline" };
  return (await response.json()) as BaseMapSettings;
}

function addStylesheet(href: string) {
  if (document.querySelector(`link[href="${href}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}

async function openMap(
  container: HTMLElement,
  settings: BaseMapSettings,
  view: { center: [number, number]; zoom: number },
): Promise<{ map: MapLibreMap; maplibre: MapModule }> {
  if (settings.provider === "mapbox") {
    const [{ default: mapboxgl }, { default: css }] = await Promise.all([
      import("mapbox-gl"),
      import("mapbox-gl/dist/mapbox-gl.css?url"),
    ]);
    addStylesheet(css);
    mapboxgl.accessToken = settings.accessToken;
    // Mapbox's terms require its attribution on the map.
    const map = new mapboxgl.Map({ container, style: settings.style, ...view });
    // The pages use the part of the API both libraries share (sources, layers, markers, bounds).
    return { map: map as unknown as MapLibreMap, maplibre: mapboxgl as unknown as MapModule };
  }
  const maplibre = await import("maplibre-gl");
  maplibre.setWorkerUrl(workerUrl);
  const map = new maplibre.Map({ container, style: OFFLINE_STYLE, attributionControl: false, ...view });
  return { map, maplibre };
}

export async function createMap(
  container: HTMLElement,
  options: { center?: [number, number]; zoom?: number } = {},
) {
  const settings = await baseMapSettings();
  container.dataset.baseMap = settings.provider;
  const { map, maplibre } = await openMap(container, settings, {
    center: options.center ?? ATHENS,
    zoom: options.zoom ?? 11,
  });
  map.addControl(new maplibre.NavigationControl({ showCompass: false }), "top-right");
  // Tests and screenshots wait for this: the map has drawn everything it has.
  map.on("idle", () => {
    container.dataset.idle = "true";
  });
  map.on("render", () => {
    if (container.dataset.idle === "true" && !map.loaded()) container.dataset.idle = "false";
  });
  // A base map that cannot load (Mapbox's style without internet, say) is named on the container.
  map.on("error", (event: { error?: { message?: string } }) => {
    container.dataset.mapError = event.error?.message ?? "the map could not load";
  });
  (window as unknown as { mercuryMap?: MapLibreMap }).mercuryMap = map;
  await new Promise<void>((resolve) => (map.loaded() ? resolve() : map.once("load", () => resolve())));
  return { map, maplibre };
}

export function featureCollection(features: Feature[]): FeatureCollection {
  return { type: "FeatureCollection", features };
}
