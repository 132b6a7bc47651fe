import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { AppLoadContext } from "@remix-run/node";
import { afterEach, describe, expect, it } from "vitest";
import { loader as mapStyleLoader } from "../../../web/app/routes/api.map-style.ts";
import { loader as worldLoader } from "../../../web/app/routes/api.world.ts";
import { loader as pipelineLoader } from "../../../web/app/routes/pipeline.tsx";
import { Auth, LoginRateLimiter } from "../../../web/server/auth.ts";
import { baseMapSettings, MAPBOX_STYLE, worldMap } from "../../../web/server/base-map.ts";
import { loadMercuryConfig, MercuryConfigError } from "../../../web/server/config.ts";
import type { MercuryContext } from "../../../web/server/context.ts";
import type { MercuryData } from "../../../web/server/data.ts";
import { venusHealth } from "../../../web/server/health.ts";
import { LiveHub } from "../../../web/server/live.ts";
import { SqliteUserStore } from "../../../web/server/users-sqlite.ts";

/**
 * The base map's settings and world outline, and the pipeline page's health model, as Remix calls the
 * loaders: on a real user store, with the health model read over HTTP from a real server.
 */

const BASE = "http://mercury.test";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function mercuryWith(env: Record<string, string>, extra: Partial<MercuryContext> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "mercury-map-unit-"));
  const config = loadMercuryConfig({ PACKETPULSE_DATA_DIR: dir, ...env });
  const users = new SqliteUserStore(config.usersFile);
  cleanups.push(() => {
    users.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const mercury: MercuryContext = {
    config,
    users,
    auth: new Auth(config, users),
    loginLimiter: new LoginRateLimiter(),
    data: {} as MercuryData,
    live: new LiveHub(),
    liveStream: true,
    baseMap: () => ({}),
    worldMap,
    baseMapSettings: baseMapSettings(config.mapboxAccessToken),
    ...extra,
  };
  const cookie = async (role: "admin" | "viewer") => {
    const user = await users.create(`${role}@example.com`, "a-long-password-1", role);
    return (await mercury.auth.issue(user)).split(";")[0]!;
  };
  const call = <T extends (args: never) => unknown>(loader: T, url: string, cookieHeader?: string) =>
    loader({
      request: new Request(`${BASE}${url}`, { headers: cookieHeader ? { cookie: cookieHeader } : {} }),
      context: { mercury } as AppLoadContext,
      params: {},
    } as never) as ReturnType<T>;
  return { mercury, cookie, call };
}

async function thrown(promise: Promise<unknown>): Promise<Response> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Response) return error;
    throw error;
  }
  throw new Error("expected the loader to throw a Response");
}

describe("the base map", () => {
  it("is the offline one without a token, and Mapbox's style with the public token when one is set", async () => {
    // Prepare
    const offline = await mercuryWith({});
    const mapbox = await mercuryWith({ MAPBOX_ACCESS_TOKEN: "pk.eyJ1IjoidGVzdCJ9.public" });

    // Act
    const without = (await offline.call(
      mapStyleLoader,
      "/api/map-style",
      await offline.cookie("viewer"),
    )) as Response;
    const withToken = (await mapbox.call(
      mapStyleLoader,
      "/api/map-style",
      await mapbox.cookie("viewer"),
    )) as Response;

    // Assess
    expect(await without.json()).toEqual({ provider: "offline" });
    expect(await withToken.json()).toEqual({
      provider: "mapbox",
      accessToken: "pk.eyJ1IjoidGVzdCJ9.public",
      style: MAPBOX_STYLE,
    });
  });

  it("refuses a secret Mapbox token, which would reach every browser", () => {
    // Act
    const load = () => loadMercuryConfig({ MAPBOX_ACCESS_TOKEN: "sk.eyJ1IjoidGVzdCJ9.secret" });

    // Assess
    expect(load).toThrow(MercuryConfigError);
    expect(load).toThrow(/MAPBOX_ACCESS_TOKEN must be a public Mapbox token/);
  });

  it("serves the world outline: land that holds Athens and Paris, borders, and nothing without a session", async () => {
    // Prepare
    const { call, cookie } = await mercuryWith({});

    // Act
    const refused = await thrown(call(worldLoader, "/api/world"));
    const world = (await (
      (await call(worldLoader, "/api/world", await cookie("viewer"))) as Response
    ).json()) as ReturnType<typeof worldMap>;

    // Assess
    expect(refused.status).toBe(401);
    const land = world.features.filter((f) => f.properties.kind === "land");
    const borders = world.features.filter((f) => f.properties.kind === "border");
    expect(borders).toHaveLength(1);
    expect(borders[0]!.geometry.type).toBe("MultiLineString");
    const onLand = (point: [number, number]) => land.some((f) => covers(f.geometry, point));
    expect(onLand([23.7275, 37.9838])).toBe(true); // Athens
    expect(onLand([2.3522, 48.8566])).toBe(true); // Paris
    expect(onLand([-30, 30])).toBe(false); // the Atlantic
  });
});

/** Whether a (Multi)Polygon holds a point: ray casting over its outer rings minus holes. */
function covers(geometry: { type: string; coordinates?: unknown }, [x, y]: [number, number]): boolean {
  const polygons = (
    geometry.type === "Polygon"
      ? [geometry.coordinates]
      : geometry.type === "MultiPolygon"
        ? geometry.coordinates
        : []
  ) as [number, number][][][];
  const inRing = (ring: [number, number][]) => {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  return polygons.some(([outer, ...holes]) => inRing(outer!) && !holes.some(inRing));
}

/** A server answering GET /health as Venus does; `answer` decides status and body. */
async function healthServer(answer: (apiKey: string | undefined) => { status: number; body: string }) {
  const server: Server = createServer((request, response) => {
    const { status, body } = answer(request.headers["x-api-key"] as string | undefined);
    response.writeHead(status, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
}

const HEALTH = {
  status: "failing",
  checkedAt: "2026-12-06T10:00:00.000Z",
  components: [
    {
      component: "event-log",
      status: "ok",
      reason: "appends and reads",
      detail: "/data/.packetpulse/log.sqlite",
      since: "2026-12-06T09:00:00.000Z",
      facts: { backend: "embedded" },
    },
    {
      component: "consumer:jupiter",
      status: "failing",
      reason: "3 failed invocations in a row",
      detail: "ClickHouse at 127.0.0.1:8123 refused the insert",
      since: "2026-12-06T09:59:00.000Z",
      facts: { lag: 1200 },
    },
  ],
};

describe("the pipeline page's health model", () => {
  it("shows every component's status, reason and figures, with details for admins only", async () => {
    // Prepare: Venus answers 503 while a component fails, with the details only for the API key.
    const url = await healthServer((key) => ({
      status: 503,
      body: JSON.stringify(key === "the-api-key" ? HEALTH : { ...HEALTH, components: [] }),
    }));
    const data = {
      freshness: async () => [],
      modelRuns: async () => ({ models: [], recent: [] }),
    } as unknown as MercuryData;
    const { call, cookie } = await mercuryWith(
      {},
      { data, health: venusHealth({ url, apiKey: "the-api-key" }) },
    );

    // Act
    const admin = await call(pipelineLoader, "/pipeline", await cookie("admin"));
    const viewer = await call(pipelineLoader, "/pipeline", await cookie("viewer"));

    // Assess
    expect(admin.health).toMatchObject({ state: "read", health: { status: "failing" } });
    const components = (page: typeof admin) =>
      page.health?.state === "read" ? page.health.health.components : [];
    expect(components(admin)).toEqual(HEALTH.components);
    expect(components(viewer)).toEqual(HEALTH.components.map(({ detail: _, ...rest }) => rest));
  });

  it("says where it looked and what to do when the health model cannot be read", async () => {
    // Prepare: a port with nothing behind it, and a server that answers something else.
    const closed = await healthServer(() => ({ status: 200, body: "{}" }));
    const port = new URL(closed).port;
    await cleanups.pop()!();
    const other = await healthServer(() => ({ status: 200, body: JSON.stringify({ hello: "world" }) }));

    // Act
    const nothing = await venusHealth({ url: closed, apiKey: "k" })();
    const garbage = await venusHealth({ url: other, apiKey: "k" })();

    // Assess
    expect(nothing).toMatchObject({
      state: "unreachable",
      url: closed,
      message: expect.stringMatching(/VENUS_PORT/),
    });
    expect(nothing.url).toContain(port);
    expect(garbage).toMatchObject({
      state: "unreachable",
      message: expect.stringMatching(/not the health model/),
    });
  });
});
