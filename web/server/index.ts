import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import type { MercuryConfig } from "./config.ts";
import type { MercuryContext } from "./context.ts";
import type { ClickHouseEndpoint } from "./data.ts";
import { gate, SECURITY_HEADERS } from "./gate.ts";
import { type LiveFeed, openMercuryContext, type PlatformFeeds } from "./open.ts";

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
  platform?: PlatformFeeds;
  liveFeed?: LiveFeed;
  /** Vite's dev server with hot reload instead of the built app. */
  dev?: boolean;
  print?: (line: string) => void;
}

export class MercuryStartError extends Error {
  override name = "MercuryStartError";
}

export async function startMercury(options: MercuryOptions): Promise<MercuryServer> {
  const { context, close: closeContext } = await openMercuryContext(options);
  const { config } = context;
  const app = express();
  app.disable("x-powered-by");
  // gzip for pages, data and the 1.5 MB world outline; never for the live map's event stream, which must
  // reach the browser event by event.
  app.use(
    compression({
      filter: (req, res) =>
        !String(res.getHeader("Content-Type") ?? "").startsWith("text/event-stream") &&
        compression.filter(req, res),
    }),
  );
  app.set("trust proxy", "loopback");
  app.use(async (req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    try {
      const refusal = await gate(context, {
        method: req.method,
        url: new URL(req.originalUrl, "http://mercury.local"),
        header: (name) => req.get(name),
      });
      if (!refusal) return next();
      res.status(refusal.status).type(refusal.contentType).send(refusal.body);
    } catch (error) {
      // Express 4 does not catch a rejected promise: hand the error on, never leave it unhandled.
      next(error);
    }
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
    await closeVite?.();
    await closeContext();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    context,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeVite?.();
      await closeContext();
    },
  };
}
