import type { Feature, FeatureCollection } from "geojson";
import type { Map as MapLibreMap } from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";

/**
 * The map every page draws on: maplibre-gl with an inline style and the offline base map (the simulator's
 * road network) from /api/base-map; nothing is fetched from another host (decision 027). Vite emits the
 * worker only when it is imported with `?url`, and maplibre must be told where it is.
 */

export const ATHENS: [number, number] = [23.7275, 37.9838];

export async function createMap(
  container: HTMLElement,
  options: { center?: [number, number]; zoom?: number } = {},
) {
  const maplibre = await import("maplibre-gl");
  maplibre.setWorkerUrl(workerUrl);
  const map = new maplibre.Map({
    container,
    center: options.center ?? ATHENS,
    zoom: options.zoom ?? 11,
    attributionControl: false,
    style: {
      version: 8,
      sources: { roads: { type: "geojson", data: "/api/base-map" } },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#eef1f4" } },
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
    },
  });
  map.addControl(new maplibre.NavigationControl({ showCompass: false }), "top-right");
  // Tests and screenshots wait for this: the map has drawn everything it has.
  map.on("idle", () => {
    container.dataset.idle = "true";
  });
  map.on("render", () => {
    if (container.dataset.idle === "true" && !map.loaded()) container.dataset.idle = "false";
  });
  (window as unknown as { mercuryMap?: MapLibreMap }).mercuryMap = map;
  await new Promise<void>((resolve) => (map.loaded() ? resolve() : map.once("load", () => resolve())));
  return { map, maplibre };
}

export function featureCollection(features: Feature[]): FeatureCollection {
  return { type: "FeatureCollection", features };
}
