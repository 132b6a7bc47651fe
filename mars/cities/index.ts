import type { City } from "../city.ts";
import { athens } from "./athens.ts";

/** Cities Mars can simulate, by id (`--city athens`). Add a city by adding its file and a line here. */
export const CITIES: Readonly<Record<string, City>> = { athens };

export const DEFAULT_CITY = "athens";
