import { type BronzeConfig, loadConfig } from "../../shared/config/index.ts";
import type { EventLog } from "../../shared/event-log/types.ts";
import { Auth, LoginRateLimiter } from "./auth.ts";
import { baseMap, baseMapSettings, worldMap } from "./base-map.ts";
import { BronzeReader } from "./bronze.ts";
import { DEVELOPMENT_ADMIN, loadMercuryConfig, type MercuryConfig, resolveMercurySecret } from "./config.ts";
import type { MercuryContext } from "./context.ts";
import { type ClickHouseEndpoint, MercuryData, openReader } from "./data.ts";
import { type HealthSource, venusHealth } from "./health.ts";
import { LiveHub } from "./live.ts";
import { type ConsumerGroup, startPipelineProbe, tailSessions } from "./pipeline.ts";
import type { UserStore } from "./users.ts";

/**
 * Mercury's load context, whatever serves it (Express in `npm start` / `npm run web`, API Gateway on Lambda):
 * the user store, the reader of ClickHouse, the live map's hub and its feed.
 */

/** The platform's event log, when Mercury runs in its process: live map from the log, pipeline figures. */
export interface PlatformFeeds {
  log: EventLog;
  topics: { sessions: string; deadLetter: string };
  groups: readonly ConsumerGroup[];
}

/** Where the live map's positions come from. */
export type LiveFeed =
  /** The platform's event log (npm start), or a Kafka cluster (npm run web with KAFKA_BOOTSTRAP_SERVERS). */
  | { kind: "log"; log: EventLog; topic: string }
  /** New silver rows, polled by the server once a second. */
  | { kind: "silver" }
  /** Silver read when a request asks for it (Lambda: no timer runs between invocations, no stream). */
  | { kind: "on-request" };

export interface MercuryContextOptions {
  clickhouse: ClickHouseEndpoint;
  config?: MercuryConfig;
  platform?: PlatformFeeds;
  /** Defaults to the platform's log when there is one, else silver. */
  liveFeed?: LiveFeed;
  /** The bronze table the session page reads raw events from; default: the platform's configuration. */
  bronze?: BronzeConfig;
  /** Where the pipeline page reads the health model; default: the platform's Venus `/health`. */
  health?: HealthSource;
  print?: (line: string) => void;
}

/** Everything loaders and actions use (the Remix load context), with what it started, to close. */
export async function openMercuryContext(
  options: MercuryContextOptions,
): Promise<{ context: MercuryContext; close(): Promise<void> }> {
  const config = await resolveMercurySecret(options.config ?? loadMercuryConfig());
  const print = options.print ?? ((line: string) => console.log(line));
  const users = await openUserStore(config);
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await users.close();
  };
  try {
    await seedAdmin(config, users, print);
    const data = new MercuryData(openReader(options.clickhouse));
    stops.push(() => data.clickhouse.close());
    const live = new LiveHub();
    const feed: LiveFeed =
      options.liveFeed ??
      (options.platform
        ? { kind: "log", log: options.platform.log, topic: options.platform.topics.sessions }
        : { kind: "silver" });
    let refreshLive: MercuryContext["refreshLive"];
    if (feed.kind === "on-request") {
      refreshLive = liveOnRequest(data, live);
    } else {
      // The map starts with the couriers silver heard from in the last 10 minutes, then follows the events.
      await seedLive(data, live).catch((error: Error) =>
        print(`  Mercury: the live map starts empty (${error.message})`),
      );
      if (feed.kind === "log") {
        const tail = tailSessions(feed.log, feed.topic, live);
        stops.push(() => tail.stop());
      } else {
        stops.push(followSilver(data, live));
      }
    }
    let pipeline: MercuryContext["pipeline"];
    if (options.platform) {
      const probe = startPipelineProbe(options.platform);
      stops.push(() => probe.stop());
      pipeline = probe;
    }
    const platformSide = platformSources(options, print);
    const bronze = platformSide.bronze ? new BronzeReader(platformSide.bronze) : undefined;
    if (bronze) stops.push(() => bronze.close());
    const context: MercuryContext = {
      config,
      users,
      auth: new Auth(config, users),
      loginLimiter: new LoginRateLimiter(),
      data,
      live,
      liveStream: feed.kind !== "on-request",
      refreshLive,
      pipeline,
      baseMap,
      worldMap,
      baseMapSettings: baseMapSettings(config.mapboxAccessToken),
      bronze,
      health: platformSide.health,
    };
    return { context, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function openUserStore(config: MercuryConfig): Promise<UserStore> {
  if (config.userStore.backend === "dynamodb") {
    const { DynamoUserStore } = await import("./users-dynamo.ts");
    return DynamoUserStore.open(config.userStore);
  }
  const { SqliteUserStore } = await import("./users-sqlite.ts");
  return new SqliteUserStore(config.userStore.file);
}

async function seedLive(data: MercuryData, live: LiveHub): Promise<void> {
  for (const courier of await data.activeCouriers(10)) live.put(courier);
}

/** The hub brought up to date from silver when a request needs it, at most once a second per container. */
function liveOnRequest(data: MercuryData, live: LiveHub): () => Promise<void> {
  let last = 0;
  let pending: Promise<void> | undefined;
  return () => {
    if (Date.now() - last < 1000) return pending ?? Promise.resolve();
    last = Date.now();
    pending = seedLive(data, live).finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

/** The development admin on an empty store, or the one MERCURY_ADMIN_EMAIL/PASSWORD name; a warning while it is the default. */
async function seedAdmin(config: MercuryConfig, users: UserStore, print: (line: string) => void) {
  if ((await users.count()) === 0) {
    if (config.firstAdmin) {
      await users.create(config.firstAdmin.email, config.firstAdmin.password, "admin");
    } else if (!config.production) {
      await users.create(DEVELOPMENT_ADMIN.email, DEVELOPMENT_ADMIN.password, "admin");
    } else {
      print(
        "  Mercury has no accounts: set MERCURY_ADMIN_EMAIL and MERCURY_ADMIN_PASSWORD to create the first admin",
      );
    }
  }
  if (await users.authenticate(DEVELOPMENT_ADMIN.email, DEVELOPMENT_ADMIN.password)) {
    print(
      config.production
        ? `  Mercury refuses the development login ${DEVELOPMENT_ADMIN.email} / ${DEVELOPMENT_ADMIN.password} (NODE_ENV=production): change its password or delete it`
        : `  WARNING: Mercury's development login ${DEVELOPMENT_ADMIN.email} / ${DEVELOPMENT_ADMIN.password} is active; change its password (Profile) outside development`,
    );
  }
  if (config.secretIsDefault)
    print("  WARNING: MERCURY_SECRET is not set; sessions are signed with the development key");
}

/** Without the event log (Mercury on its own), new silver rows move the couriers: polled here, pushed to browsers. */
function followSilver(data: MercuryData, live: LiveHub, everyMs = 1000): () => Promise<void> {
  let since = Date.now() - 2000;
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const now = Date.now();
      for (const courier of await data.activeCouriers(10, since)) live.put(courier);
      since = now - 1000;
    } catch {
      // The store may be restarting; the next tick tries again.
    } finally {
      running = false;
    }
  }, everyMs);
  timer.unref();
  return async () => clearInterval(timer);
}

/** Bronze and the health model as given, else as the platform's configuration (the environment) names them. */
function platformSources(
  options: MercuryContextOptions,
  print: (line: string) => void,
): { bronze?: BronzeConfig; health?: HealthSource } {
  if (options.bronze && options.health) return { bronze: options.bronze, health: options.health };
  try {
    const platform = loadConfig();
    const host = ["0.0.0.0", "::"].includes(platform.venus.host) ? "127.0.0.1" : platform.venus.host;
    return {
      bronze: options.bronze ?? platform.bronze,
      health:
        options.health ??
        venusHealth({ url: `http://${host}:${platform.venus.port}/health`, apiKey: platform.venus.apiKey }),
    };
  } catch (error) {
    print(`  Mercury: no raw events or health model (${(error as Error).message})`);
    return { bronze: options.bronze, health: options.health };
  }
}
