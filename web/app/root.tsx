import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLoaderData,
  useRouteError,
} from "@remix-run/react";
import "./context.ts";
import styles from "./styles.css?url";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: styles }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await context.mercury.auth.session(request);
  return {
    user: session ? { email: session.user.email, role: session.user.role } : null,
    csrf: session?.csrfToken ?? null,
  };
}

const PAGES = [
  ["/overview", "Overview"],
  ["/map", "Live map"],
  ["/sessions", "Sessions"],
  ["/fleet", "Fleet"],
  ["/analytics", "Analytics"],
  ["/pipeline", "Pipeline"],
] as const;

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Mercury · PacketPulse</title>
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  const { user, csrf } = useLoaderData<typeof loader>();
  if (!user) return <Outlet />;
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Mercury</span>
        <nav aria-label="Pages">
          {PAGES.map(([to, label]) => (
            <NavLink key={to} to={to} prefetch="intent">
              {label}
            </NavLink>
          ))}
          {user.role === "admin" ? (
            <>
              <NavLink to="/sql">SQL</NavLink>
              <NavLink to="/users">Users</NavLink>
            </>
          ) : null}
        </nav>
        <div className="who">
          <NavLink to="/profile" data-testid="who">
            {user.email} ({user.role})
          </NavLink>
          <Form method="post" action="/logout">
            <input type="hidden" name="csrf" value={csrf ?? ""} />
            <button type="submit" className="link">
              Sign out
            </button>
          </Form>
        </div>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${typeof error.data === "string" ? error.data : error.statusText}`
    : error instanceof Error
      ? error.message
      : "Unknown error";
  return (
    <main className="error-page">
      <h1>Something went wrong</h1>
      <p role="alert">{message}</p>
      <p>
        <a href="/overview">Back to the overview</a>
      </p>
    </main>
  );
}
