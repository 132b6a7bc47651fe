import { type ActionFunctionArgs, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { DEVELOPMENT_ADMIN } from "../../server/config.ts";
import "../context.ts";

const loginSchema = z.object({
  email: z.email({ error: "Enter an email address" }).max(254),
  password: z.string().min(1, { error: "Enter your password" }).max(1024),
  redirectTo: z.string().optional(),
});

/** Only paths of this site: an open redirect would let a link send a fresh session elsewhere. */
function safeRedirect(to: string | undefined): string {
  return to?.startsWith("/") && !to.startsWith("//") && !to.startsWith("/\\") ? to : "/overview";
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await context.mercury.auth.session(request)) return redirect("/overview");
  return { development: !context.mercury.config.production, signup: context.mercury.config.signup };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { auth, users, loginLimiter, config } = context.mercury;
  const parsed = loginSchema.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) {
    return Response.json(
      { error: parsed.error.issues.map((issue) => issue.message).join("; ") },
      { status: 400 },
    );
  }
  const { email, password, redirectTo } = parsed.data;
  const address = request.headers.get("x-forwarded-for") ?? "local";
  const keys = [`address:${address}`, `email:${email.toLowerCase()}`];
  const wait = loginLimiter.retryAfterMs(keys);
  if (wait > 0) {
    return Response.json(
      { error: `Too many failed sign-ins: try again in ${Math.ceil(wait / 60_000)} min` },
      { status: 429, headers: { "Retry-After": String(Math.ceil(wait / 1000)) } },
    );
  }
  if (
    config.production &&
    email.toLowerCase() === DEVELOPMENT_ADMIN.email &&
    password === DEVELOPMENT_ADMIN.password
  ) {
    loginLimiter.fail(keys);
    return Response.json(
      { error: "The development login is refused in production: sign in with your own account" },
      { status: 403 },
    );
  }
  const user = await users.authenticate(email.toLowerCase(), password);
  if (!user) {
    loginLimiter.fail(keys);
    return Response.json({ error: "Wrong email or password" }, { status: 401 });
  }
  loginLimiter.succeed(keys);
  return redirect(safeRedirect(redirectTo), { headers: { "Set-Cookie": await auth.issue(user) } });
}

export default function Login() {
  const result = useActionData<{ error?: string }>();
  const { signup } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  return (
    <main className="login card">
      <h1>Mercury · sign in</h1>
      <Form method="post">
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/overview"} />
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {result?.error ? (
          <p className="alert" role="alert">
            {result.error}
          </p>
        ) : null}
        <button type="submit" disabled={navigation.state === "submitting"}>
          Sign in
        </button>
      </Form>
      {signup ? (
        <p>
          No account? <Link to="/signup">Create one</Link>.
        </p>
      ) : null}
    </main>
  );
}
