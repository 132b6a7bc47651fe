import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import type { MercuryConfig } from "./config.ts";
import type { MercuryUser, Role, UserStore } from "./users.ts";

/**
 * Sessions: a JWT (HS256, signed with `jose`) in an HttpOnly, SameSite=Lax cookie. The token names the user;
 * the user is read from the store on every request, so a deleted account or a changed role counts at once.
 * CSRF: every action carries a token bound to the session (HMAC of its id), and the server refuses
 * cross-site writes by their Origin / Sec-Fetch-Site headers (decision 026).
 */

export const SESSION_COOKIE = "mercury_session";
const ISSUER = "packetpulse-mercury";

export interface MercurySession {
  user: MercuryUser;
  sessionId: string;
  csrfToken: string;
}

export class Auth {
  constructor(
    private readonly config: MercuryConfig,
    private readonly users: UserStore,
  ) {}

  async issue(user: MercuryUser): Promise<string> {
    const token = await new SignJWT({ role: user.role })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setJti(randomUUID())
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.config.sessionHours}h`)
      .sign(this.config.secret);
    const secure = this.config.production ? "; Secure" : "";
    return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${this.config.sessionHours * 3600}${secure}`;
  }

  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
  }

  /** The request's session, or undefined (no cookie, a bad or expired token, a deleted user). */
  async session(request: Request): Promise<MercurySession | undefined> {
    const token = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.config.secret, {
        issuer: ISSUER,
        algorithms: ["HS256"],
      });
      if (typeof payload.sub !== "string" || typeof payload.jti !== "string") return undefined;
      const user = await this.users.byId(payload.sub);
      if (!user) return undefined;
      return { user, sessionId: payload.jti, csrfToken: this.csrfToken(payload.jti) };
    } catch {
      return undefined;
    }
  }

  csrfToken(sessionId: string): string {
    return createHmac("sha256", this.config.secret).update(`csrf:${sessionId}`).digest("base64url");
  }

  csrfValid(session: MercurySession, token: unknown): boolean {
    if (typeof token !== "string") return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

/** How a route answers a request without the session it needs. */
export type Audience = "page" | "data";

export function unauthenticated(request: Request, audience: Audience): Response {
  if (audience === "data") {
    return Response.json({ error: "Sign in first: this data needs a session" }, { status: 401 });
  }
  const url = new URL(request.url);
  const back = `${url.pathname}${url.search}`;
  return new Response(null, {
    status: 302,
    headers: { Location: `/login?redirectTo=${encodeURIComponent(back)}` },
  });
}

export function forbidden(audience: Audience, role: Role): Response {
  const message = `This needs the ${role} role`;
  return audience === "data"
    ? Response.json({ error: message }, { status: 403 })
    : new Response(message, { status: 403 });
}

/** Login attempts: at most `max` failures per key (address, email) in `windowMs`. */
export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max = 5,
    private readonly windowMs = 15 * 60_000,
  ) {}

  /** Milliseconds to wait before the next attempt for any of the keys, 0 when allowed. */
  retryAfterMs(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const recent = (this.failures.get(key) ?? []).filter((at) => at > now - this.windowMs);
      this.failures.set(key, recent);
      if (recent.length >= this.max) wait = Math.max(wait, recent[0]! + this.windowMs - now);
    }
    return wait;
  }

  fail(keys: string[], now = Date.now()): void {
    for (const key of keys) this.failures.set(key, [...(this.failures.get(key) ?? []), now]);
    if (this.failures.size > 50_000) this.failures.clear();
  }

  succeed(keys: string[]): void {
    for (const key of keys) this.failures.delete(key);
  }
}
