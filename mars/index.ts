/**
 * Mars, the courier simulator: its public API. See docs/mars.md.
 *
 * - `simulate(options)`: the pure, seeded simulation, an iterator of v2 events (with the true position).
 * - `toV1(events)` / `V1Projection`: the same stream as original 12-field messages.
 * - `wireUnits(options)`: the stream as sent (protocol shape, JSON text, chaos applied).
 * - `runMars(options)` / `startMars(options)`: a whole run (pacing, file, WebSocket, progress).
 * - `MarsClient`: the WebSocket client of both protocols, on its own.
 */
export { type ChaosOptions, type UnitKind, type WireUnit, withChaos } from "./chaos.ts";
export { CITIES, DEFAULT_CITY } from "./cities/index.ts";
export type { City, CityPlace, CityRoad, RoadClass } from "./city.ts";
export { type ClientStats, MarsClient, type MarsClientOptions } from "./client.ts";
export { defaultStartMs, SimClock, type Speed } from "./clock.ts";
export { MarsAuthError, MarsError, MarsGaveUpError, MarsOptionsError } from "./errors.ts";
export { MAX_FRAME_BYTES, type OutboundFrame, V2Batcher, v1Frame } from "./frames.ts";
export type { LonLat } from "./geo.ts";
export { type EdgePosition, RoadNetwork } from "./network.ts";
export { parseMarsOptions } from "./options.ts";
export { findRoute, type Route, type TravelModel } from "./routing.ts";
export { MARS_DEFAULTS, type MarsOptions, type MarsSummary, runMars, startMars } from "./run.ts";
export { networkOf, SIMULATION_DEFAULTS, type SimulationOptions, simulate } from "./simulate.ts";
export { protocolUnits, type StreamOptions, wireUnits } from "./stream.ts";
export type {
  LocationPingEvent,
  MarsV1Message,
  MarsV2Event,
  Protocol,
  SessionStartedEvent,
  SessionStatus,
  SimulatedEvent,
  StatusChangedEvent,
  TruePosition,
} from "./types.ts";
export { toV1, V1Projection } from "./v1.ts";
export { VEHICLE_PROFILES, type VehicleProfile, type VehicleType } from "./vehicles.ts";
