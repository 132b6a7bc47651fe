import { mkdirSync } from "node:fs";
import path from "node:path";
import {
  launchBrowser,
  liveCourier,
  ROOT,
  seedFixture,
  sendEvents,
  signIn,
  startPlatform,
  waitForMapIdle,
} from "./platform.ts";

/**
 * `npm run screenshots`: every page of Mercury as a PNG in docs/screenshots/, from `npm start` fed the Mars
 * fixture (plus three couriers live now, so the live map has someone to show).
 */

const PAGES = [
  { name: "login", path: "/login", signedIn: false },
  { name: "overview", path: "/overview" },
  { name: "map", path: "/map", map: true },
  { name: "map-world", path: "/map", map: true, world: true },
  { name: "sessions", path: "/sessions" },
  { name: "session-detail", path: "SESSION", map: true },
  { name: "fleet", path: "/fleet" },
  { name: "analytics", path: "/analytics?period=month", map: true },
  { name: "pipeline", path: "/pipeline" },
  { name: "sql", path: "/sql" },
  { name: "users", path: "/users" },
];

async function main(): Promise<void> {
  const out = path.join(ROOT, "docs", "screenshots");
  mkdirSync(out, { recursive: true });
  console.log("Starting the platform (npm start) on a fresh data folder…");
  const platform = await startPlatform();
  const browser = await launchBrowser();
  try {
    await seedFixture(platform, 6);
    for (let i = 0; i < 3; i++) {
      const courier = liveCourier(Date.now() - i * 5000);
      const shift = (n: number) => n + i * 0.01;
      await sendEvents(
        platform.venusUrl,
        courier.started.map((e) => ("lat" in e ? { ...e, lat: shift(e.lat as number) } : e)),
      );
    }
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    for (const target of PAGES) {
      if (target.signedIn === false) {
        await page.goto(`${platform.mercuryUrl}${target.path}`);
      } else {
        if (!page.url().startsWith(platform.mercuryUrl) || page.url().includes("/login")) {
          await signIn(page, platform.mercuryUrl);
        }
        let where = target.path;
        if (where === "SESSION") {
          await page.goto(`${platform.mercuryUrl}/sessions?status=completed`);
          where =
            (await page.locator('[data-testid="session-row"] a').first().getAttribute("href")) ?? "/sessions";
        }
        await page.goto(`${platform.mercuryUrl}${where}`);
        await page.waitForLoadState("networkidle").catch(() => {});
        if (target.name === "sql") {
          await page.click('button:text-is("Run")');
          await page.waitForSelector('[data-testid="sql-result"]');
        }
        if (target.map) await waitForMapIdle(page);
        else await page.waitForTimeout(500);
        if (target.world) {
          // The offline base map outside the simulator's cities: the world outline.
          await page.evaluate(`(() => {
            document.querySelector('[data-testid="map"]').dataset.idle = "false";
            window.mercuryMap.jumpTo({ center: [15, 45], zoom: 3.2 });
          })()`);
          await waitForMapIdle(page);
        }
        if (target.name === "session-detail") {
          await page.waitForSelector('[data-testid="raw-events-total"], [data-testid="raw-events-empty"]');
        }
      }
      const file = path.join(out, `${target.name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`  ${path.relative(ROOT, file)}`);
    }
  } finally {
    await browser.close();
    await platform.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
