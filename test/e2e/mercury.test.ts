import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  drawnPixels,
  FIXTURE,
  launchBrowser,
  liveCourier,
  pixelClasses,
  query,
  ROOT,
  type RunningPlatform,
  seedFixture,
  sendEvents,
  signIn,
  startPlatform,
  waitForMapIdle,
} from "./platform.ts";

/**
 * Mercury end to end: `npm start` (built app) fed the Mars fixture athens-seed42-v2 (6 sessions, 3 vehicles),
 * gold rebuilt, and Debian's Chromium driving the pages. Every figure checked is read from gold as well.
 */

let platform: RunningPlatform;
let browser: Browser;
let page: Page;

const km = (value: string) => `${Number(value).toFixed(1)} km`;
const minutes = (seconds: string) => `${(Number(seconds) / 60).toFixed(1)} min`;
const pct = (value: string) => `${(Number(value) * 100).toFixed(1)}%`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  // The test serves the app as npm start does: built (the build is redone, so the test sees this source).
  const build = spawnSync(
    process.execPath,
    ["node_modules/@remix-run/dev/dist/cli.js", "vite:build", "web"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`);
  platform = await startPlatform();
  await seedFixture(platform, 6);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1300, height: 900 } })).newPage();
  await signIn(page, platform.mercuryUrl);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
}, 60_000);

describe("Mercury in a browser", () => {
  it("shows the overview's figures equal to gold", async () => {
    // Prepare
    const [day, started, completed, distance, p50] = (
      await query(
        platform,
        `SELECT toString(period_start), sessions_started, sessions_completed, total_distance_km, p50_delivery_seconds
         FROM kpi_aggregates WHERE period = 'day' ORDER BY period_start DESC LIMIT 1`,
      )
    ).split("\t");
    const fleet = await query(
      platform,
      "SELECT concat(toString(countIf(status = 'active')), ' / ', toString(count())) FROM fleet_summary",
    );

    // Act
    await page.goto(`${platform.mercuryUrl}/overview`);

    // Assess
    await expect.poll(() => page.textContent("h1")).toContain(`latest day with sessions: ${day}`);
    expect(started).toBe("6");
    expect(await page.textContent('[data-testid="kpi-sessions-value"]')).toBe(started);
    expect(await page.textContent('[data-testid="kpi-orders-value"]')).toBe(completed);
    expect(await page.textContent('[data-testid="kpi-distance-value"]')).toBe(km(distance!));
    expect(await page.textContent('[data-testid="kpi-fleet-value"]')).toBe(fleet);
    expect(await page.textContent('[data-testid="p50"]')).toBe(minutes(p50!));
    expect(await page.locator('[data-testid="recent-sessions"] tbody tr').count()).toBe(6);
  });

  it("lists every session with its gold distance, and filters by status", async () => {
    // Prepare
    const distances = (
      await query(
        platform,
        "SELECT total_distance_km FROM session_summary ORDER BY start_time DESC, session_id",
      )
    )
      .split("\n")
      .map(km);
    const failed = await query(platform, "SELECT count() FROM session_summary WHERE status = 'failed'");

    // Act
    await page.goto(`${platform.mercuryUrl}/sessions`);
    const shown = await page.locator('[data-testid="session-distance"]').allTextContents();
    await page.goto(`${platform.mercuryUrl}/sessions?status=failed`);

    // Assess
    expect(shown).toEqual(distances);
    expect(await page.textContent('[data-testid="sessions-total"]')).toContain(`${failed} sessions`);
    expect(await page.locator('[data-testid="session-row"]').count()).toBe(Number(failed));
  });

  it("shows the fleet's states and the analytics' rates equal to gold", async () => {
    // Prepare
    const [vehicles, idle, offline] = (
      await query(
        platform,
        "SELECT count(), countIf(status = 'idle'), countIf(status = 'offline') FROM fleet_summary",
      )
    ).split("\t");
    const [completion, onTime] = (
      await query(
        platform,
        `SELECT sum(sessions_completed) / sum(sessions_ended), sum(sessions_on_time) / sum(sessions_with_promise)
         FROM kpi_aggregates WHERE period = 'day'`,
      )
    ).split("\t");

    // Act
    await page.goto(`${platform.mercuryUrl}/fleet`);
    const fleet = [
      await page.textContent('[data-testid="fleet-vehicles-value"]'),
      await page.textContent('[data-testid="fleet-idle-value"]'),
      await page.textContent('[data-testid="fleet-offline-value"]'),
    ];
    await page.goto(`${platform.mercuryUrl}/analytics?period=year`);

    // Assess
    expect(fleet).toEqual([vehicles, idle, offline]);
    expect(await page.textContent('[data-testid="an-completion-value"]')).toBe(pct(completion!));
    expect(await page.textContent('[data-testid="an-ontime-value"]')).toBe(pct(onTime!));
  });

  it("draws the live map and moves a courier within 1 s of its event's acknowledgement", async () => {
    // Prepare
    const courier = liveCourier();
    expect((await sendEvents(platform.venusUrl, courier.started)).accepted).toBe(4);
    await page.goto(`${platform.mercuryUrl}/map`);
    const entry = page.locator(`[data-testid="courier-${courier.ids.session_id}"]`);
    await entry.waitFor({ timeout: 10_000 });
    await waitForMapIdle(page);
    const { drawn, total } = await drawnPixels(page);

    // Act
    const ack = await sendEvents(platform.venusUrl, [courier.ping(Date.now(), 37.9812, 23.7433)]);
    const acknowledged = Date.now();
    await page.waitForFunction(
      `document.querySelector('[data-testid="courier-${courier.ids.session_id}"]')?.getAttribute("data-lat") === "37.9812"`,
      undefined,
      { timeout: 5000, polling: 20 },
    );
    const delayMs = Date.now() - acknowledged;

    // Assess
    expect(drawn / total).toBeGreaterThan(0.02);
    expect(ack.accepted).toBe(1);
    expect(await entry.getAttribute("data-lon")).toBe("23.7433");
    expect(delayMs).toBeLessThan(1000);
  });

  it("replays a trip: the marker moves along the path", async () => {
    // Prepare
    const sessionId = await query(
      platform,
      "SELECT session_id FROM session_summary WHERE status = 'completed' ORDER BY start_time LIMIT 1",
    );
    await page.goto(`${platform.mercuryUrl}/sessions/${sessionId}`);
    await waitForMapIdle(page);
    const marker = page.locator('[data-testid="replay-marker"]');
    const before = await marker.getAttribute("data-lon");

    // Act
    await page.selectOption("select", "20");
    await page.click('button:text-is("Play")');

    // Assess
    await expect.poll(() => marker.getAttribute("data-lon"), { timeout: 10_000 }).not.toBe(before);
  });

  it("runs an admin's read-only query as a table, and refuses a write", async () => {
    // Prepare
    const expected = await query(platform, "SELECT count() FROM session_summary WHERE status = 'completed'");

    // Act
    await page.goto(`${platform.mercuryUrl}/sql`);
    await page.fill(
      "textarea",
      "SELECT count() AS completed FROM session_summary WHERE status = 'completed'",
    );
    await page.click('button:text-is("Run")');
    const cell = await page.locator('[data-testid="sql-result"] tbody td').first().textContent();
    await page.fill("textarea", "DROP TABLE session_summary");
    await page.click('button:text-is("Run")');
    const error = await page.locator('[data-testid="sql-error"]').textContent();

    // Assess
    expect(cell).toBe(expected);
    expect(error).toMatch(/readonly/i);
    expect(await query(platform, "SELECT count() FROM session_summary")).toBe("6");
  });

  it("saves a query under a name, runs it again from the list after a reload, and deletes it", async () => {
    // Prepare
    const expected = await query(platform, "SELECT count() FROM session_summary");
    await page.goto(`${platform.mercuryUrl}/sql`);

    // Act
    await page.fill("textarea", "SELECT count() AS sessions FROM session_summary");
    await page.fill('input[name="name"]', "all sessions");
    await page.click('button:text-is("Save query")');
    await expect.poll(() => page.textContent('[data-testid="sql-notice"]')).toBe("Saved “all sessions”");
    await page.goto(`${platform.mercuryUrl}/sql`);
    await page.fill("textarea", "SELECT 'something else'");
    await page.locator('[data-testid="saved-all sessions"] button:text-is("Run saved")').click();
    const cell = await page.locator('[data-testid="sql-result"] tbody td').first().textContent();
    const editor = await page.inputValue("textarea");
    await page.locator('[data-testid="saved-all sessions"] button:text-is("Delete")').click();
    await expect.poll(() => page.locator('[data-testid="saved-all sessions"]').count()).toBe(0);

    // Assess
    expect(cell).toBe(expected);
    expect(editor).toBe("SELECT count() AS sessions FROM session_summary");
  });

  it("keeps a viewer out of the admin pages", async () => {
    // Prepare: the admin creates a viewer in the users page.
    await page.goto(`${platform.mercuryUrl}/users`);
    await page.fill('input[name="email"]', "viewer@example.com");
    await page.fill('input[name="password"]', "viewer-password-1");
    await page.click('button:has-text("Add user")');
    await page.waitForSelector("text=Created viewer@example.com (viewer)");
    const viewer = await (await browser.newContext()).newPage();

    // Act
    await signIn(viewer, platform.mercuryUrl, { email: "viewer@example.com", password: "viewer-password-1" });
    const nav = await viewer.locator("nav a").allTextContents();
    const sql = await viewer.goto(`${platform.mercuryUrl}/sql`);
    const users = await viewer.goto(`${platform.mercuryUrl}/users`);

    // Assess
    expect(nav).not.toContain("SQL");
    expect(sql?.status()).toBe(403);
    expect(await viewer.textContent("body")).toContain("This needs the admin role");
    expect(users?.status()).toBe(403);
    await viewer.context().close();
  });

  it("refuses requests without a session: 401 for data, the login for pages", async () => {
    // Act
    const live = await fetch(`${platform.mercuryUrl}/api/live`);
    const data = await fetch(`${platform.mercuryUrl}/overview?_data=routes%2Foverview`);
    const baseMap = await fetch(`${platform.mercuryUrl}/api/base-map`);
    const pageRequest = await fetch(`${platform.mercuryUrl}/fleet`, { redirect: "manual" });
    const sql = await fetch(`${platform.mercuryUrl}/sql?_data=routes%2Fsql`, {
      method: "POST",
      body: new URLSearchParams({ sql: "SELECT 1" }),
      headers: { origin: platform.mercuryUrl },
    });

    // Assess
    expect(live.status).toBe(401);
    expect(data.status).toBe(401);
    expect(baseMap.status).toBe(401);
    expect(pageRequest.status).toBe(302);
    expect(pageRequest.headers.get("location")).toBe("/login?redirectTo=%2Ffleet");
    expect(sql.status).toBe(401);
  });

  it("refuses a cross-site form post before any action runs", async () => {
    // Act
    const response = await fetch(`${platform.mercuryUrl}/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "admin@example.com", password: "password" }),
      headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" },
      redirect: "manual",
    });

    // Assess
    expect(response.status).toBe(403);
    expect(await response.text()).toBe("Cross-site request refused");
  });

  it("draws the world outline where the simulator has no roads: land, sea, coasts and borders", async () => {
    // Prepare: the live map, then Europe at zoom 3.2, far outside the simulator's cities.
    await page.goto(`${platform.mercuryUrl}/map`);
    await waitForMapIdle(page);
    const provider = await page.getAttribute('[data-testid="map"]', "data-base-map");

    // Act
    await page.evaluate(`(() => {
      document.querySelector('[data-testid="map"]').dataset.idle = "false";
      window.mercuryMap.jumpTo({ center: [15, 45], zoom: 3.2 });
    })()`);
    await waitForMapIdle(page);
    // The offline style's colours (web/app/components/map.client.ts).
    const places: Record<string, [number, number]> = {
      Madrid: [-3.7, 40.42],
      Bilbao: [-2.93, 43.26],
      Bordeaux: [-0.58, 44.84],
      Nantes: [-1.55, 47.22],
      Hamburg: [10, 53.55],
      Paris: [2.35, 48.86],
      Berlin: [13.4, 52.52],
      Kyiv: [30.52, 50.45],
      "the Atlantic": [-20, 45],
      "the Ionian Sea": [18, 36],
      "the Black Sea": [34, 43.3],
    };
    const pixels = await pixelClasses(page, { land: "#eef1f4", sea: "#cfdeea" }, Object.values(places));

    // Assess: land and sea fill a good part of the view, coasts and borders are drawn between them, and each
    // place is where it belongs (Natural Earth's antimeridian rings drawn as they come left sea-coloured
    // wedges over Bilbao, Bordeaux and Nantes, which this catches).
    const { counts } = pixels;
    expect(provider).toBe("offline");
    expect(counts.land / counts.total).toBeGreaterThan(0.2);
    expect(counts.sea / counts.total).toBeGreaterThan(0.1);
    expect(counts.other / counts.total).toBeGreaterThan(0.01);
    expect(Object.fromEntries(Object.keys(places).map((name, i) => [name, pixels.at[i]]))).toEqual({
      Madrid: "land",
      Bilbao: "land",
      Bordeaux: "land",
      Nantes: "land",
      Hamburg: "land",
      Paris: "land",
      Berlin: "land",
      Kyiv: "land",
      "the Atlantic": "sea",
      "the Ionian Sea": "sea",
      "the Black Sea": "sea",
    });
  });

  it("uses mapbox-gl with Mapbox's style and the public token when the server has MAPBOX_ACCESS_TOKEN", async () => {
    // Prepare: the server's answer as with a token set (the server side is test/unit/web/base-map-and-health.test.ts).
    // There is no internet here, so Mapbox's style cannot load: its requests are recorded and aborted.
    const context = await browser.newContext();
    const mapbox = await context.newPage();
    await signIn(mapbox, platform.mercuryUrl);
    const asked: string[] = [];
    await mapbox.route("**/api/map-style", (route) =>
      route.fulfill({
        json: {
          provider: "mapbox",
          accessToken: "pk.e2e-public-token",
          style: "mapbox://styles/mapbox/light-v11",
        },
      }),
    );
    await mapbox.route(/^https:\/\/([a-z]+\.)?(mapbox\.com|tiles\.mapbox\.com)\//, (route) => {
      asked.push(route.request().url());
      return route.abort();
    });

    // Act
    await mapbox.goto(`${platform.mercuryUrl}/map`);
    await mapbox.waitForSelector('[data-testid="map"][data-base-map="mapbox"]');

    // Assess: the map asked Mapbox for its light style with the public token.
    await expect
      .poll(() => asked.find((url) => url.includes("/styles/v1/mapbox/light-v11")), { timeout: 15_000 })
      .toContain("access_token=pk.e2e-public-token");
    await context.close();
  });

  it("shows a session's raw events from bronze, oldest first, payloads as the fixture has them", async () => {
    // Prepare: the fixture's lines of a completed session (replay appends each line as it is).
    const sessionId = await query(
      platform,
      "SELECT session_id FROM session_summary WHERE status = 'completed' ORDER BY start_time LIMIT 1",
    );
    const lines = readFileSync(FIXTURE, "utf8")
      .split("\n")
      .filter((line) => line.includes(sessionId));

    // Act: Neptune commits every few seconds; the page says so until it has.
    await expect
      .poll(
        async () => {
          await page.goto(`${platform.mercuryUrl}/sessions/${sessionId}`);
          await page.waitForSelector('[data-testid="raw-events-total"], [data-testid="raw-events-empty"]');
          return page.locator('[data-testid="raw-events-total"]').count();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(1);
    const total = await page.textContent('[data-testid="raw-events-total"]');
    const firstPage = await page.locator('[data-testid="raw-event-payload"]').allTextContents();
    const pager = await page.textContent('[data-testid="raw-events-page"]');
    await page.click('button:text-is("newer →")');
    await expect.poll(() => page.textContent('[data-testid="raw-events-page"]')).toContain("page 2 of");
    const secondPage = await page.locator('[data-testid="raw-event-payload"]').allTextContents();

    // Assess
    expect(lines.length).toBeGreaterThan(25);
    expect(total).toContain(`${lines.length} events`);
    expect(pager).toBe(`page 1 of ${Math.ceil(lines.length / 25)}`);
    expect([...firstPage, ...secondPage]).toEqual(lines.slice(0, firstPage.length + secondPage.length));
  });

  it("shows each component's health and Uranus's last runs as the platform holds them", async () => {
    // Prepare: the health model as Venus serves it with the API key.
    const healthUrl = `${platform.venusUrl.replace(/^ws/, "http").replace(/\/[^/:]*$/, "")}/health`;

    // Act, Assess: Uranus runs every minute, so the page and the store are read until they agree.
    await expect
      .poll(
        async () => {
          await page.goto(`${platform.mercuryUrl}/pipeline`);
          const shown = await page
            .locator('[data-testid="model-runs"] tbody tr')
            .evaluateAll((rows) =>
              rows.map((row) =>
                [
                  row.querySelector("th")?.textContent,
                  row.querySelector('[data-testid="model-duration"]')?.textContent,
                  row.querySelector('[data-testid="model-rows"]')?.textContent,
                  row.querySelector('[data-testid="model-outcome"]')?.textContent,
                ].join("|"),
              ),
            );
          const stored = (
            await query(
              platform,
              "SELECT model, last_duration_ms, last_rows, last_outcome FROM uranus_model_status ORDER BY model",
            )
          )
            .split("\n")
            .map((line) => {
              const [model, ms, rows, outcome] = line.split("\t");
              const duration =
                Number(ms) < 10_000
                  ? `${Number(ms).toLocaleString("en-US")} ms`
                  : `${(Number(ms) / 1000).toFixed(1)} s`;
              return [model, duration, Number(rows).toLocaleString("en-US"), outcome].join("|");
            });
          return { shown, stored };
        },
        { timeout: 30_000, interval: 500 },
      )
      .toSatisfy(
        ({ shown, stored }: { shown: string[]; stored: string[] }) =>
          shown.length > 5 && JSON.stringify(shown) === JSON.stringify(stored),
      );
    const health = (await (
      await fetch(healthUrl, { headers: { "x-api-key": "mars-secret-key" } })
    ).json()) as { components: { component: string; status: string }[] };
    const components = await page
      .locator('[data-testid="health"] tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.querySelector("th")?.textContent));
    expect(health.components.length).toBeGreaterThan(3);
    expect(components).toEqual(health.components.map((c) => c.component));
    expect(await page.locator('[data-testid="recent-runs"] tbody tr').count()).toBeGreaterThan(0);
  });
});
