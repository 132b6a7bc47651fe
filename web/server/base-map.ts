import { CITIES } from "../../mars/cities/index.ts";

/**
 * The offline base map: the simulator's road networks (mars/cities/) as GeoJSON lines, and their
 * places as labelled points. No tile server and no token: the map draws with nothing outside the platform.
 */

interface Feature {
  type: "Feature";
  properties: Record<string, string | number>;
  geometry:
    | { type: "LineString"; coordinates: [number, number][] }
    | { type: "Point"; coordinates: [number, number] };
}

let cached: { type: "FeatureCollection"; features: Feature[] } | undefined;

export function baseMap(): { type: "FeatureCollection"; features: Feature[] } {
  if (cached) return cached;
  const features: Feature[] = [];
  for (const city of Object.values(CITIES)) {
    const at = new Map(city.places.map((place) => [place.id, place.at]));
    for (const road of city.roads) {
      const coordinates = road.path.flatMap((step): [number, number][] => {
        const point = typeof step === "string" ? at.get(step) : step;
        return point ? [[point[0], point[1]]] : [];
      });
      features.push({
        type: "Feature",
        properties: { name: road.name, class: road.roadClass },
        geometry: { type: "LineString", coordinates },
      });
    }
    for (const place of city.places) {
      if (place.demand <= 0.5) continue;
      features.push({
        type: "Feature",
        properties: { name: place.name, kind: "place" },
        geometry: { type: "Point", coordinates: [place.at[0], place.at[1]] },
      });
    }
  }
  cached = { type: "FeatureCollection", features };
  return cached;
}
