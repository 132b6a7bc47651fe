import type { MercuryContext } from "./context.ts";

/**
 * What every request to Mercury passes before Remix runs, in any server (Express, or API Gateway on Lambda):
 * security headers, cross-site writes refused (the CSRF token is the second guard), and a 401 for a page's
 * data (`?_data=`, Remix's client navigation) without a session, instead of the login page's redirect.
 * Remix removes `_data` before the loader sees it, so this is the one place that can tell.
 */

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
};

/** Route data that needs no session: the root layout, the login and sign-up pages. */
const PUBLIC_DATA = ["root", "routes/login", "routes/signup"];

export interface GateRefusal {
  status: number;
  contentType: string;
  body: string;
}

/** The host an Origin header names; a malformed one names none (and is refused as another site). */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** The answer for a request refused before Remix, or undefined to go on. */
export async function gate(
  context: MercuryContext,
  request: { method: string; url: URL; header(name: string): string | undefined },
): Promise<GateRefusal | undefined> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    const site = request.header("sec-fetch-site");
    const origin = request.header("origin");
    const host = request.header("x-forwarded-host") ?? request.header("host");
    if (site === "cross-site" || (origin && origin !== "null" && originHost(origin) !== host)) {
      return { status: 403, contentType: "text/plain", body: "Cross-site request refused" };
    }
  }
  const route = request.url.searchParams.get("_data");
  if (route === null || PUBLIC_DATA.includes(route)) return undefined;
  const session = await context.auth.session(
    new Request("http://mercury.local/", { headers: { cookie: request.header("cookie") ?? "" } }),
  );
  if (session) return undefined;
  return {
    status: 401,
    contentType: "application/json",
    body: JSON.stringify({ error: "Sign in first: this data needs a session" }),
  };
}
