import { type ActionFunctionArgs, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { UserStoreError } from "../../server/users.ts";
import "../context.ts";

/**
 * Self-service sign-up, off unless MERCURY_SIGNUP=on. New accounts get the viewer role. Like the login, it
 * is refused cross-site before it runs (the server's gate) and limited per address: 5 attempts in 15 minutes,
 * successful or not, so a script cannot fill the user store.
 */

export const signupSchema = z.object({
  email: z.email({ error: "Enter an email address" }).max(254),
  password: z
    .string({ error: "Choose a password" })
    .min(12, { error: "Passwords have at least 12 characters" })
    .max(1024),
});

const OFF = "Sign-up is off on this Mercury: ask an admin for an account";

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (!context.mercury.config.signup) throw new Response(OFF, { status: 404 });
  if (await context.mercury.auth.session(request)) return redirect("/overview");
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { auth, users, loginLimiter, config } = context.mercury;
  if (!config.signup) return Response.json({ error: OFF }, { status: 404 });
  const keys = [`signup:${request.headers.get("x-forwarded-for") ?? "local"}`];
  const wait = loginLimiter.retryAfterMs(keys);
  if (wait > 0) {
    return Response.json(
      { error: `Too many sign-ups from this address: try again in ${Math.ceil(wait / 60_000)} min` },
      { status: 429, headers: { "Retry-After": String(Math.ceil(wait / 1000)) } },
    );
  }
  const parsed = signupSchema.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) {
    return Response.json(
      { error: parsed.error.issues.map((issue) => issue.message).join("; ") },
      { status: 400 },
    );
  }
  loginLimiter.fail(keys);
  try {
    const user = await users.create(parsed.data.email, parsed.data.password, "viewer");
    return redirect("/overview", { headers: { "Set-Cookie": await auth.issue(user) } });
  } catch (error) {
    if (error instanceof UserStoreError) return Response.json({ error: error.message }, { status: 409 });
    throw error;
  }
}

export default function Signup() {
  const result = useActionData<{ error?: string }>();
  const navigation = useNavigation();
  return (
    <main className="login card">
      <h1>Mercury · create an account</h1>
      <Form method="post">
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password (12 characters or more)
          <input name="password" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        {result?.error ? (
          <p className="alert" role="alert">
            {result.error}
          </p>
        ) : null}
        <button type="submit" disabled={navigation.state === "submitting"}>
          Create account
        </button>
      </Form>
      <p>
        <Link to="/login">Sign in</Link> with an account you have.
      </p>
    </main>
  );
}
