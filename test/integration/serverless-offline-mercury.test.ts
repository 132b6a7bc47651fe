import { randomUUID } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickHouseHttpServer, startClickHouseHttp } from "#shared/clickhouse/http/index.ts";
import { goldFixtureBatches } from "#test/fixtures/uranus-gold-sessions.ts";
import { isolatedEnv, v2Ping } from "#test/helpers/platform.ts";
import { freePort, type Spawned, spawnProcess } from "#test/helpers/processes.ts";
import { type GoldTestStore, openGoldTestStore } from "#test/helpers/uranus-gold.ts";
import { buildHandlers } from "../../scripts/build.ts";
import { CHROMIUM, launchBrowser, signIn } from "../e2e/platform.ts";

/**
 * Mercury's HTTP function under `serverless offline` (API Gateway HTTP API events through Remix's Architect
 * adapter), reading gold over ClickHouse's HTTP interface as the read-only reader, as it would read a
 * ClickHouse server on AWS.
 */
describe("Mercury under serverless offline", () => {
  let gold: GoldTestStore;
  let sql: ClickHouseHttpServer;
  let offline: Spawned;
  let env: Record<string, string>;
  let url: string;
  let sessionIds: string[];

  beforeAll(async () => {
    // Prepare: gold built from the fixture's sessions, served over HTTP
    gold = await openGoldTestStore();
    await gold.feed(goldFixtureBatches());
    await gold.run();
    sessionIds = (await gold.table<{ session_id: string }>("session_summary")).map((r) => r.session_id);
    const store = gold.config.clickhouse;
    if (store.backend !== "embedded") throw new Error("the gold test store is embedded chDB");
    sql = await startClickHouseHttp({
      path: store.path,
      database: gold.config.clickhouse.database,
      http: { ...gold.config.clickhouseHttp, host: "127.0.0.1", port: 0 },
    });
    await buildHandlers();
    const [wsPort, httpPort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
    env = isolatedEnv("embedded", {
      PACKETPULSE_OFFLINE_FUNCTIONS: "mercury",
      VENUS_PORT: String(wsPort),
      OFFLINE_HTTP_PORT: String(httpPort),
      OFFLINE_LAMBDA_PORT: String(lambdaPort),
      CLICKHOUSE_URL: sql.url,
      CLICKHOUSE_USER: gold.config.clickhouseHttp.reader.name,
      CLICKHOUSE_PASSWORD: gold.config.clickhouseHttp.reader.password,
    });
    url = `http://127.0.0.1:${httpPort}`;
    offline = spawnProcess("npx", ["serverless", "offline"], env);
    await offline.waitFor("Server ready", 90_000);
  }, 240_000);

  afterAll(async () => {
    await offline?.stop();
    await sql?.close();
    await gold?.close();
    if (env) rmSync(env.PACKETPULSE_DATA_DIR!, { recursive: true, force: true });
  });

  it("serves the login page and the browser assets it names", async () => {
    // Act
    const login = await fetch(`${url}/login`);
    const html = await login.text();
    const script =
      /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ??
      /"(\/assets\/entry\.client-[^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${url}${script}`);

    // Assess
    expect(login.status).toBe(200);
    expect(html).toContain("Mercury · sign in");
    expect(login.headers.get("x-frame-options")).toBe("DENY");
    expect(script).toBeDefined();
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect((await asset.text()).length).toBeGreaterThan(100);
  }, 60_000);

  it("answers data without a session with 401 and sends pages to the login", async () => {
    // Act
    const data = await fetch(`${url}/sessions?_data=routes%2Fsessions._index`);
    const page = await fetch(`${url}/sessions`, { redirect: "manual" });

    // Assess
    expect(data.status).toBe(401);
    expect(await data.json()).toEqual({ error: "Sign in first: this data needs a session" });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/login?redirectTo=%2Fsessions");
  }, 60_000);

  it("signs in and renders a page with gold's sessions; the live map's data is polled, not streamed", async () => {
    // Act
    const signIn = await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        email: "admin@example.com",
        password: "password",
        redirectTo: "/sessions",
      }),
    });
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0]!;
    const sessions = await fetch(`${url}/sessions`, { headers: { cookie } });
    const html = await sessions.text();
    const stream = await fetch(`${url}/api/live`, { headers: { cookie } });
    const mapData = await fetch(`${url}/map?_data=routes%2Fmap`, { headers: { cookie } });
    const cross = await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      body: new URLSearchParams({ email: "admin@example.com", password: "password" }),
    });

    // Assess
    expect(signIn.status).toBe(302);
    expect(signIn.headers.get("location")).toBe("/sessions");
    expect(cookie).toMatch(/^mercury_session=.+/);
    expect(sessions.status).toBe(200);
    expect(sessionIds.length).toBeGreaterThan(0);
    for (const id of sessionIds.slice(0, 3)) expect(html).toContain(id.slice(0, 8));
    expect(stream.status).toBe(503);
    expect(await stream.json()).toMatchObject({ poll: "/map?_data=routes%2Fmap" });
    expect(mapData.status).toBe(200);
    expect(await mapData.json()).toHaveProperty("couriers");
    expect(cross.status).toBe(403);
  }, 60_000);

  it.skipIf(!existsSync(CHROMIUM))(
    "draws a courier on the live map in a browser by polling, as API Gateway cannot stream",
    async () => {
      // Prepare
      const browser = await launchBrowser();
      const page = await browser.newPage();
      await signIn(page, url);
      await page.goto(`${url}/map`);
      await page.waitForSelector('[data-testid="live-status"]:has-text("live")', { timeout: 20_000 });
      const sessionId = randomUUID();

      // Act: a ping reaches silver after the page is open
      const now = new Date().toISOString();
      await gold.feed([
        {
          receivedAt: now,
          events: [{ protocol: 2, value: v2Ping({ session_id: sessionId, occurred_at: now, lat: 37.991 }) }],
        },
      ]);
      const courier = page.locator(`[data-testid="courier-${sessionId}"]`);
      await courier.waitFor({ timeout: 20_000 });
      const lat = await courier.getAttribute("data-lat");
      await browser.close();

      // Assess
      expect(Number(lat)).toBeCloseTo(37.991, 5);
    },
    60_000,
  );
});
