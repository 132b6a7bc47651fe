import type { Auth, LoginRateLimiter } from "./auth.ts";
import type { BaseMapSettings, WorldMap } from "./base-map.ts";
import type { BronzeReader } from "./bronze.ts";
import type { MercuryConfig } from "./config.ts";
import type { MercuryData } from "./data.ts";
import type { HealthSource } from "./health.ts";
import type { LiveHub } from "./live.ts";
import type { PipelineProbe } from "./pipeline.ts";
import type { UserStore } from "./users.ts";

/** What every Remix loader and action receives (Remix's load context). */
export interface MercuryContext {
  config: MercuryConfig;
  users: UserStore;
  auth: Auth;
  loginLimiter: LoginRateLimiter;
  data: MercuryData;
  live: LiveHub;
  /** Whether /api/live can stream (false on Lambda: API Gateway buffers responses; the map polls instead). */
  liveStream: boolean;
  /** Brings `live` up to date before a request reads it, where no feed runs (Lambda). */
  refreshLive?: () => Promise<void>;
  /** Present where Mercury runs in the platform's process (npm start): the event log's figures. */
  pipeline?: PipelineProbe;
  baseMap: () => unknown;
  /** The world outline under the roads (offline base map). */
  worldMap?: () => WorldMap;
  /** Offline unless MAPBOX_ACCESS_TOKEN is set. */
  baseMapSettings?: BaseMapSettings;
  /** The session page's raw events (absent when the platform's configuration cannot be read). */
  bronze?: BronzeReader;
  /** The platform's health model for the pipeline page. */
  health?: HealthSource;
}
