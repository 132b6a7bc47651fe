import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AppLoadContext } from "@remix-run/node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loader as liveLoader } from "../../../web/app/routes/api.live.ts";
import { action as loginAction } from "../../../web/app/routes/login.tsx";
import { loader as overviewLoader } from "../../../web/app/routes/overview.tsx";
import { loader as sessionsLoader } from "../../../web/app/routes/sessions._index.tsx";
import { action as signupAction, loader as signupLoader } from "../../../web/app/routes/signup.tsx";
import { action as sqlAction, loader as sqlLoader } from "../../../web/app/routes/sql.tsx";
import { action as usersAction } from "../../../web/app/routes/users.tsx";
import { Auth, LoginRateLimiter } from "../../../web/server/auth.ts";
import { loadMercuryConfig, MercuryConfigError } from "../../../web/server/config.ts";
import type { MercuryContext } from "../../../web/server/context.ts";
import type { MercuryData } from "../../../web/server/data.ts";
import { gate } from "../../../web/server/gate.ts";
import { LiveHub } from "../../../web/server/live.ts";
import { type UserStore, UserStoreError } from "../../../web/server/users.ts";
import { SqliteUserStore } from "../../../web/server/users-sqlite.ts";

/**
 * Mercury's access rules as units: the loaders and actions called as Remix calls them, on a real user store
 * (SQLite in a temporary folder). Where a request must be refused before any data is read, the data layer
 * throws when touched, so a refusal that came after a query would fail the test.
 */

const BASE = "http://mercury.test";

let dir: string;
let users: UserStore;
let context: AppLoadContext;
let mercury: MercuryContext;
let dataCalls: string[];

function untouchableData(): MercuryData {
  return new Proxy({} as MercuryData, {
    get(_target, name) {
      dataCalls.push(String(name));
      throw new Error(`the data layer was read (${String(name)}) before the request was refused`);
    },
  });
}

function setup(env: Record<string, string> = {}) {
  dir = mkdtempSync(path.join(os.tmpdir(), "mercury-unit-"));
  const config = loadMercuryConfig({ PACKETPULSE_DATA_DIR: dir, ...env });
  users = new SqliteUserStore(config.usersFile);
  dataCalls = [];
  mercury = {
    config,
    users,
    auth: new Auth(config, users),
    loginLimiter: new LoginRateLimiter(),
    data: untouchableData(),
    live: new LiveHub(),
    liveStream: true,
    baseMap: () => ({}),
  };
  context = { mercury } as AppLoadContext;
}

async function cookieFor(email: string, role: "admin" | "viewer") {
  const user = await users.create(email, "a-long-password-1", role);
  const setCookie = await mercury.auth.issue(user);
  const cookie = setCookie.split(";")[0]!;
  const session = await mercury.auth.session(new Request(BASE, { headers: { cookie } }));
  return { cookie, csrf: session!.csrfToken, user };
}

function form(fields: Record<string, string>, cookie?: string): Request {
  return new Request(`${BASE}/x`, {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: cookie ? { cookie } : {},
  });
}

async function thrown(promise: Promise<unknown>): Promise<Response> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Response) return error;
    throw error;
  }
  throw new Error("expected the loader or action to throw a Response");
}

const args = (request: Request, params: Record<string, string> = {}) =>
  ({ request, context, params }) as Parameters<typeof overviewLoader>[0];

beforeEach(() => setup());
afterEach(async () => {
  await users.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Mercury sessions and roles", () => {
  it("redirects a page request without a session to the login, keeping where it was going", async () => {
    // Act
    const response = await thrown(overviewLoader(args(new Request(`${BASE}/overview?x=1`))));

    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/login?redirectTo=%2Foverview%3Fx%3D1");
    expect(dataCalls).toEqual([]);
  });

  it("answers a data request without a session with 401", async () => {
    // Act
    const live = await thrown(liveLoader(args(new Request(`${BASE}/api/live`))));

    // Assess
    expect(live.status).toBe(401);
    expect(await live.json()).toEqual({ error: "Sign in first: this data needs a session" });
    expect(dataCalls).toEqual([]);
  });

  it("refuses a forged, tampered or deleted user's token", async () => {
    // Prepare
    const { cookie, user } = await cookieFor("ops@example.com", "viewer");
    const [name, token] = cookie.split("=");
    const [header, payload, signature] = token!.split(".");
    const forgedPayload = Buffer.from(
      JSON.stringify({ sub: user.id, role: "admin", jti: "x", iss: "packetpulse-mercury" }),
    ).toString("base64url");

    // Act
    const tampered = await mercury.auth.session(
      new Request(BASE, { headers: { cookie: `${name}=${header}.${forgedPayload}.${signature}` } }),
    );
    const valid = await mercury.auth.session(new Request(BASE, { headers: { cookie } }));
    await users.delete(user.id);
    const afterDelete = await mercury.auth.session(new Request(BASE, { headers: { cookie } }));

    // Assess
    expect(tampered).toBeUndefined();
    expect(valid?.user.email).toBe("ops@example.com");
    expect(afterDelete).toBeUndefined();
    expect(payload).toBeDefined();
  });

  it("gives a viewer 403 on the admin pages and actions", async () => {
    // Prepare
    const viewer = await cookieFor("viewer@example.com", "viewer");

    // Act
    const page = await thrown(
      sqlLoader(args(new Request(`${BASE}/sql`, { headers: { cookie: viewer.cookie } }))),
    );
    const query = await thrown(sqlAction(args(form({ sql: "SELECT 1", csrf: viewer.csrf }, viewer.cookie))));
    const manage = await thrown(
      usersAction(args(form({ intent: "delete", id: viewer.user.id, csrf: viewer.csrf }, viewer.cookie))),
    );

    // Assess
    expect(page.status).toBe(403);
    expect(query.status).toBe(403);
    expect(manage.status).toBe(403);
    expect(await users.byId(viewer.user.id)).toBeDefined();
    expect(dataCalls).toEqual([]);
  });

  it("refuses an action without the session's CSRF token", async () => {
    // Prepare
    const admin = await cookieFor("boss@example.com", "admin");
    const other = await cookieFor("other@example.com", "admin");

    // Act
    const missing = await thrown(sqlAction(args(form({ sql: "SELECT 1" }, admin.cookie))));
    const foreign = await thrown(sqlAction(args(form({ sql: "SELECT 1", csrf: other.csrf }, admin.cookie))));

    // Assess
    expect(missing.status).toBe(403);
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("CSRF");
    expect(dataCalls).toEqual([]);
  });

  it("validates every input with a specific message before reading data", async () => {
    // Prepare
    const admin = await cookieFor("boss@example.com", "admin");

    // Act
    const emptySql = (await sqlAction(
      args(form({ sql: "   ", csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const badUser = (await usersAction(
      args(
        form(
          { intent: "create", email: "not-an-email", password: "short", role: "owner", csrf: admin.csrf },
          admin.cookie,
        ),
      ),
    )) as Response;
    const badFilter = await thrown(
      sessionsLoader(
        args(
          new Request(`${BASE}/sessions?status=lost&from=yesterday`, { headers: { cookie: admin.cookie } }),
        ),
      ),
    );

    // Assess
    expect(emptySql.status).toBe(400);
    expect(await emptySql.json()).toEqual({ error: "Write a query" });
    expect(badUser.status).toBe(400);
    expect(((await badUser.json()) as { error: string }).error).toMatch(
      /email address.*12 characters|12 characters.*email address/s,
    );
    expect(badFilter.status).toBe(400);
    expect(await badFilter.text()).toMatch(/^Invalid filter: status .*; from must be a date \(YYYY-MM-DD\)$/);
    expect(dataCalls).toEqual([]);
  });
});

describe("Mercury login", () => {
  it("signs in with the right password: an HttpOnly SameSite cookie and a redirect inside the site", async () => {
    // Prepare
    await users.create("ops@example.com", "a-long-password-1", "viewer");

    // Act
    const response = (await loginAction(
      args(form({ email: "OPS@example.com", password: "a-long-password-1", redirectTo: "//evil.example/x" })),
    )) as Response;

    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/overview");
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toMatch(
      /^mercury_session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/,
    );
  });

  it("answers a wrong password with 401 and locks the address after five failures (429)", async () => {
    // Prepare
    await users.create("ops@example.com", "a-long-password-1", "viewer");
    const attempt = () =>
      loginAction(args(form({ email: "ops@example.com", password: "guess" }))) as Promise<Response>;

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt()).status);
    const right = (await loginAction(
      args(form({ email: "ops@example.com", password: "a-long-password-1" })),
    )) as Response;

    // Assess
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(800);
  });

  it("rejects a malformed form with a specific message", async () => {
    // Act
    const response = (await loginAction(args(form({ email: "nobody", password: "" })))) as Response;

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "Enter an email address; Enter your password" });
  });

  it("refuses the development login with NODE_ENV=production", async () => {
    // Prepare
    await users.close();
    rmSync(dir, { recursive: true, force: true });
    setup({ NODE_ENV: "production", MERCURY_SECRET: "s".repeat(40) });
    await users.create("admin@example.com", "password", "admin");

    // Act
    const response = (await loginAction(
      args(form({ email: "admin@example.com", password: "password" })),
    )) as Response;

    // Assess
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toContain("refused in production");
  });

  it("needs MERCURY_SECRET in production", () => {
    // Act / Assess
    expect(() => loadMercuryConfig({ NODE_ENV: "production" })).toThrow(MercuryConfigError);
    expect(() => loadMercuryConfig({ NODE_ENV: "production" })).toThrow(/MERCURY_SECRET is required/);
  });
});

describe("Mercury user store", () => {
  it("keeps accounts across a reopen, with scrypt hashes and no plain password", async () => {
    // Prepare
    const file = mercury.config.usersFile;
    await users.create("ops@example.com", "a-long-password-1", "viewer");
    await users.close();

    // Act
    users = new SqliteUserStore(file);
    const right = await users.authenticate("ops@example.com", "a-long-password-1");
    const wrong = await users.authenticate("ops@example.com", "a-long-password-2");
    const { default: Database } = await import("better-sqlite3");
    const raw = new Database(file, { readonly: true });
    const stored = raw.prepare("SELECT password_hash FROM users").get() as { password_hash: string };
    raw.close();

    // Assess
    expect(right?.role).toBe("viewer");
    expect(wrong).toBeUndefined();
    expect(stored.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(stored.password_hash).not.toContain("a-long-password-1");
  });

  it("never removes the last admin and refuses a second account with the same email", async () => {
    // Prepare
    const admin = await users.create("boss@example.com", "a-long-password-1", "admin");

    // Act / Assess
    await expect(users.delete(admin.id)).rejects.toThrow(
      new UserStoreError("The last admin account cannot be deleted"),
    );
    await expect(users.setRole(admin.id, "viewer")).rejects.toThrow(
      new UserStoreError("The last admin cannot lose the role"),
    );
    await expect(users.create("BOSS@example.com", "another-password", "viewer")).rejects.toThrow(
      "An account with the email boss@example.com already exists",
    );
  });
});

/** A data layer that answers ad-hoc SQL with the query it was given (what reached the store). */
function echoingData(): MercuryData {
  return {
    adhoc: async (sql: string) => {
      dataCalls.push(sql);
      return { columns: ["sql"], types: ["String"], rows: [[sql]], ms: 1 };
    },
  } as unknown as MercuryData;
}

describe("Mercury's saved queries", () => {
  it("saves an admin's query by name, lists it for that admin only, runs it and deletes it", async () => {
    // Prepare
    mercury.data = echoingData();
    const admin = await cookieFor("boss@example.com", "admin");
    const other = await cookieFor("other@example.com", "admin");
    const sql = "SELECT status, count() FROM session_summary GROUP BY status";

    // Act
    const saved = (await sqlAction(
      args(form({ intent: "save", name: "statuses", sql, csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const mine = (await sqlLoader(
      args(new Request(`${BASE}/sql`, { headers: { cookie: admin.cookie } })),
    )) as { saved: { id: string; name: string; sql: string }[] };
    const theirs = (await sqlLoader(
      args(new Request(`${BASE}/sql`, { headers: { cookie: other.cookie } })),
    )) as { saved: unknown[] };
    const id = mine.saved[0]!.id;
    const ran = (await sqlAction(
      args(form({ intent: "run-saved", id, csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const stolen = (await sqlAction(
      args(form({ intent: "run-saved", id, csrf: other.csrf }, other.cookie)),
    )) as Response;
    await sqlAction(args(form({ intent: "delete", id, csrf: other.csrf }, other.cookie)));
    const afterForeignDelete = await users.listQueries(admin.user.id);
    await sqlAction(args(form({ intent: "delete", id, csrf: admin.csrf }, admin.cookie)));

    // Assess
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ notice: "Saved “statuses”" });
    expect(mine.saved.map((q) => [q.name, q.sql])).toEqual([["statuses", sql]]);
    expect(theirs.saved).toEqual([]);
    expect(await ran.json()).toMatchObject({ sql, savedName: "statuses", rows: [[sql]] });
    expect(stolen.status).toBe(404);
    expect(dataCalls).toEqual([sql]);
    expect(afterForeignDelete.map((q) => q.name)).toEqual(["statuses"]);
    expect(await users.listQueries(admin.user.id)).toEqual([]);
  });

  it("validates the name and the id before anything is stored or run, and refuses viewers", async () => {
    // Prepare
    const admin = await cookieFor("boss@example.com", "admin");
    const viewer = await cookieFor("viewer@example.com", "viewer");

    // Act
    const noName = (await sqlAction(
      args(form({ intent: "save", name: "  ", sql: "SELECT 1", csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const longName = (await sqlAction(
      args(form({ intent: "save", name: "x".repeat(101), sql: "SELECT 1", csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const badId = (await sqlAction(
      args(form({ intent: "run-saved", id: "../1", csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const unknownIntent = (await sqlAction(
      args(form({ intent: "export", sql: "SELECT 1", csrf: admin.csrf }, admin.cookie)),
    )) as Response;
    const viewerSave = await thrown(
      sqlAction(args(form({ intent: "save", name: "n", sql: "SELECT 1", csrf: viewer.csrf }, viewer.cookie))),
    );

    // Assess
    expect([noName.status, longName.status, badId.status, unknownIntent.status]).toEqual([
      400, 400, 400, 400,
    ]);
    expect((await noName.json()).error).toBe("Name the query");
    expect((await longName.json()).error).toBe("The name is too long (100 characters at most)");
    expect((await badId.json()).error).toBe("Choose a saved query");
    expect(viewerSave.status).toBe(403);
    expect(await users.listQueries(admin.user.id)).toEqual([]);
    expect(dataCalls).toEqual([]);
  });
});

describe("Mercury's sign-up", () => {
  const signupForm = (fields: Record<string, string>, address = "203.0.113.7") =>
    new Request(`${BASE}/signup`, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { "x-forwarded-for": address },
    });

  it("is off by default: the page is not found and no account is created", async () => {
    // Act
    const page = await thrown(signupLoader(args(new Request(`${BASE}/signup`))));
    const post = (await signupAction(
      args(signupForm({ email: "new@example.com", password: "a-long-password-1" })),
    )) as Response;

    // Assess
    expect(page.status).toBe(404);
    expect(post.status).toBe(404);
    expect(await users.count()).toBe(0);
  });

  it("creates a viewer and signs it in when MERCURY_SIGNUP=on", async () => {
    // Prepare
    await users.close();
    rmSync(dir, { recursive: true, force: true });
    setup({ MERCURY_SIGNUP: "on" });

    // Act
    const page = await signupLoader(args(new Request(`${BASE}/signup`)));
    const created = (await signupAction(
      args(signupForm({ email: "New@Example.com", password: "a-long-password-1" })),
    )) as Response;
    const cookie = (created.headers.get("set-cookie") ?? "").split(";")[0]!;
    const session = await mercury.auth.session(new Request(BASE, { headers: { cookie } }));
    const again = (await signupAction(
      args(signupForm({ email: "new@example.com", password: "a-long-password-2" }, "198.51.100.1")),
    )) as Response;

    // Assess
    expect(page).toBeNull();
    expect(created.status).toBe(302);
    expect(created.headers.get("location")).toBe("/overview");
    expect(session?.user).toMatchObject({ email: "new@example.com", role: "viewer" });
    expect(again.status).toBe(409);
    expect(await users.count()).toBe(1);
  });

  it("validates its input and limits attempts per address", async () => {
    // Prepare
    await users.close();
    rmSync(dir, { recursive: true, force: true });
    setup({ MERCURY_SIGNUP: "on" });

    // Act
    const invalid = (await signupAction(
      args(signupForm({ email: "not-an-email", password: "short" }, "192.0.2.9")),
    )) as Response;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await signupAction(
        args(signupForm({ email: `user${i}@example.com`, password: "a-long-password-1" })),
      ).catch((thrownResponse: Response) => thrownResponse);
      statuses.push((response as Response).status);
    }

    // Assess
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error).toBe(
      "Enter an email address; Passwords have at least 12 characters",
    );
    expect(statuses).toEqual([302, 302, 302, 302, 302, 429]);
    expect(await users.count()).toBe(5);
  });

  it("is refused cross-site by the server's gate, which lets its data through without a session", async () => {
    // Prepare
    const request = (method: string, url: string, headers: Record<string, string>) => ({
      method,
      url: new URL(url),
      header: (name: string) => headers[name],
    });

    // Act
    const crossSite = await gate(
      mercury,
      request("POST", `${BASE}/signup`, { host: "mercury.test", origin: "https://evil.example" }),
    );
    const fetchSite = await gate(
      mercury,
      request("POST", `${BASE}/signup`, { host: "mercury.test", "sec-fetch-site": "cross-site" }),
    );
    const sameSite = await gate(
      mercury,
      request("POST", `${BASE}/signup`, { host: "mercury.test", origin: "http://mercury.test" }),
    );
    const malformed = await gate(
      mercury,
      request("POST", `${BASE}/signup`, { host: "mercury.test", origin: "not a url" }),
    );
    const signupData = await gate(mercury, request("GET", `${BASE}/signup?_data=routes%2Fsignup`, {}));
    const sqlData = await gate(mercury, request("GET", `${BASE}/sql?_data=routes%2Fsql`, {}));

    // Assess
    expect(crossSite?.status).toBe(403);
    expect(fetchSite?.status).toBe(403);
    expect(sameSite).toBeUndefined();
    expect(malformed?.status).toBe(403);
    expect(signupData).toBeUndefined();
    expect(sqlData?.status).toBe(401);
  });
});
