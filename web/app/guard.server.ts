import type { AppLoadContext } from "@remix-run/node";
import { type Audience, forbidden, type MercurySession, unauthenticated } from "../server/auth.ts";
import "./context.ts";

/** The session a loader or action needs; throws the answer for a request without one (401 or a redirect). */
export async function requireSession(
  context: AppLoadContext,
  request: Request,
  audience: Audience = "page",
): Promise<MercurySession> {
  const session = await context.mercury.auth.session(request);
  if (!session) throw unauthenticated(request, audience);
  return session;
}

export async function requireAdmin(
  context: AppLoadContext,
  request: Request,
  audience: Audience = "page",
): Promise<MercurySession> {
  const session = await requireSession(context, request, audience);
  if (session.user.role !== "admin") throw forbidden(audience, "admin");
  return session;
}

/** An action's form, after the CSRF token it must carry is checked against the session. */
export async function requireForm(
  context: AppLoadContext,
  request: Request,
  session: MercurySession,
): Promise<FormData> {
  const form = await request.formData();
  if (!context.mercury.auth.csrfValid(session, form.get("csrf"))) {
    throw new Response("The form is out of date (CSRF token): reload the page and try again", {
      status: 403,
    });
  }
  return form;
}
