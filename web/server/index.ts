import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import express from "express";
import { type BronzeConfig, loadConfig } from "../../shared/config/index.ts";
import type { EventLog } from "../../shared/event-log/types.ts";
import { Auth, LoginRateLimiter } from "./auth.ts";
import { baseMap, baseMapSettings, worldMap } from "./base-map.ts";
import { BronzeReader } from "./bronze.ts";
import { DEVELOPMENT_ADMIN, loadMercuryConfig, type MercuryConfig } from "./config.ts";
import type { MercuryContext } from "./context.ts";
import { type ClickHouseEndpoint, MercuryData, openReader } from "./data.ts";
import { type HealthSource, venusHealth } from "./health.ts";
import { LiveHub } from "./live.ts";
import { type ConsumerGroup, startPipelineProbe, tailSessions } from "./pipeline.ts";
import { UserStore } from "./users.ts";

/** Mercury's HTTP server: the Remix app (built, or Vite in development) behind Express. */

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUILD = path.join(WEB_DIR, "build");

export interface MercuryServer {
  url: string;
  port: number;
  context: MercuryContext;
  close(): Promise<void>;
}

export interface MercuryOptions {
  clickhouse: ClickHouseEndpoint;
  config?: MercuryConfig;
  /** The platform's event log, when Mercury runs in its process: live map from the log, pipeline figures. */
  platform?: {
    log: EventLog;
    topics: { sessions: string; deadLetter: string };
    groups: readonly ConsumerGroup[];
  };
  /** The bronze table the session page reads raw events from; default: the platform's configuration. */
  bronze?: BronzeConfig;
  /** Where the pipeline page reads the health model; default: the platform's Venus `/health`. */
  health?: HealthSource;
  /** Vite's dev server with hot reload instead of the built app. */
  dev?: boolean;
  print?: (line: string) => void;
}

export class MercuryStartError extends Error {
  override name = "MercuryStartError";
}

export async function startMercury(options: MercuryOptions): Promise<MercuryServer> {
  const config = options.config ?? loadMercuryConfig();
  const print = options.print ?? ((line: string) => console.log(line));
  const users = new UserStore(config.usersFile);
  await seedAdmin(config, users, print);

  const data = new MercuryData(openReader(options.clickhouse));
  const live = new LiveHub();
  const stops: (() => Promise<void>)[] = [];
  // The map starts with the couriers silver heard from in the last 10 minutes, then follows the events.
  await data
    .activeCouriers(10)
    .then((couriers) => {
      for (const courier of couriers) live.put(courier);
    })
    .catch((error: Error) => print(`  Mercury: the live map starts empty (${error.message})`));
  let pipeline: MercuryContext["pipeline"];
  if (options.platform) {
    const tail = tailSessions(options.platform.log, options.platform.topics.sessions, live);
    stops.push(() => tail.stop());
    pipeline = startPipelineProbe(options.platform);
    const probe = pipeline;
    stops.push(() => probe.stop());
  } else {
    stops.push(followSilver(data, live));
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
    pipeline,
    baseMap,
    worldMap,
    baseMapSettings: baseMapSettings(config.mapboxAccessToken),
    bronze,
    health: platformSide.health,
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", "loopback");
  app.use((req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Referrer-Policy", "same-origin");
    // A write from another site is refused before any action runs (the CSRF token is the second guard).
    if (req.method !== "GET" && req.method !== "HEAD") {
      const site = req.get("sec-fetch-site");
      const origin = req.get("origin");
      if (
        site === "cross-site" ||
        (origin && origin !== "null" && new URL(origin).host !== req.get("host"))
      ) {
        res.status(403).type("text/plain").send("Cross-site request refused");
        return;
      }
    }
    next();
  });
  // A page's loader called for its data alone (Remix's client navigation, `?_data=`) is a data route: without a
  // session it gets 401, not the login page's redirect. Remix removes `_data` before the loader sees it.
  app.use(async (req, res, next) => {
    const route = req.query._data;
    if (typeof route !== "string" || route === "root" || route === "routes/login") return next();
    const session = await context.auth.session(
      new Request("http://mercury.local/", { headers: { cookie: req.get("cookie") ?? "" } }),
    );
    if (session) return next();
    res.status(401).json({ error: "Sign in first: this data needs a session" });
  });

  let build: ServerBuild | (() => Promise<ServerBuild>);
  let closeVite: (() => Promise<void>) | undefined;
  if (options.dev) {
    const vite = await import("vite");
    const server = await vite.createServer({
      configFile: path.join(WEB_DIR, "vite.config.ts"),
      server: { middlewareMode: true },
    });
    closeVite = () => server.close();
    app.use(server.middlewares);
    build = () => server.ssrLoadModule("virtual:remix/server-build") as Promise<ServerBuild>;
  } else {
    const entry = path.join(BUILD, "server", "index.js");
    if (!existsSync(entry)) {
      throw new MercuryStartError(`Mercury is not built (${entry} is missing): run npm run web:build first`);
    }
    build = (await import(entry)) as ServerBuild;
    app.use(
      "/assets",
      express.static(path.join(BUILD, "client", "assets"), { immutable: true, maxAge: "1y" }),
    );
    app.use(express.static(path.join(BUILD, "client"), { maxAge: "1h", index: false }));
  }
  app.all("*", createRequestHandler({ build, getLoadContext: () => ({ mercury: context }) }));

  const server: Server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, config.host, () => resolve(listening));
    listening.once("error", reject);
  }).catch(async (error: unknown) => {
    // Nothing of this Mercury stays behind: the feeds, the store's client, the users' file.
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await closeVite?.();
    await data.clickhouse.close();
    users.close();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    context,
    async close() {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeVite?.();
      await data.clickhouse.close();
      users.close();
    },
  };
}

/** Bronze and the health model as given, else as the platform's configuration (the environment) names them. */
function platformSources(
  options: MercuryOptions,
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

/** The development admin on an empty store, or the one MERCURY_ADMIN_EMAIL/PASSWORD name; a warning while it is the default. */
async function seedAdmin(config: MercuryConfig, users: UserStore, print: (line: string) => void) {
  const email = process.env.MERCURY_ADMIN_EMAIL;
  const password = process.env.MERCURY_ADMIN_PASSWORD;
  if (users.count() === 0) {
    if (email && password) {
      await users.create(email, password, "admin");
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
