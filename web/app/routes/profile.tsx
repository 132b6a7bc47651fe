import { type ActionFunctionArgs, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { UserStoreError } from "../../server/users.ts";
import { requireForm, requireSession } from "../guard.server.ts";

export const profileActionSchema = z.discriminatedUnion("intent", [
  z.object({
    intent: z.literal("password"),
    current: z.string().min(1, { error: "Enter your current password" }).max(1024),
    next: z.string().min(12, { error: "The new password needs at least 12 characters" }).max(1024),
  }),
  z.object({
    intent: z.literal("delete"),
    confirm: z.literal("delete", { error: 'Type "delete" to confirm' }),
  }),
]);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await requireSession(context, request);
  return { user: session.user, csrf: session.csrfToken };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const session = await requireSession(context, request, "data");
  const form = await requireForm(context, request, session);
  const parsed = profileActionSchema.safeParse(Object.fromEntries(form));
  if (!parsed.success)
    return Response.json({ error: parsed.error.issues.map((i) => i.message).join("; ") }, { status: 400 });
  const { users, auth } = context.mercury;
  if (parsed.data.intent === "password") {
    const changed = await users.changePassword(session.user.id, parsed.data.current, parsed.data.next);
    return changed
      ? Response.json({ notice: "Password changed" })
      : Response.json({ error: "The current password is wrong" }, { status: 400 });
  }
  try {
    await users.delete(session.user.id);
  } catch (error) {
    if (error instanceof UserStoreError) return Response.json({ error: error.message }, { status: 409 });
    throw error;
  }
  return redirect("/login", { headers: { "Set-Cookie": auth.clearCookie() } });
}

export default function Profile() {
  const { user, csrf } = useLoaderData<typeof loader>();
  const result = useActionData<{ error?: string; notice?: string }>();
  return (
    <>
      <h1>Profile</h1>
      <p>
        {user.email} · {user.role}
      </p>
      {result?.error ? (
        <p className="alert" role="alert">
          {result.error}
        </p>
      ) : null}
      {result?.notice ? <p className="notice">{result.notice}</p> : null}
      <div className="grid wide">
        <Form
          method="post"
          className="card"
          style={{ display: "flex", flexDirection: "column", gap: "0.6rem" }}
        >
          <h2>Change password</h2>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="intent" value="password" />
          <label>
            Current password
            <input name="current" type="password" autoComplete="current-password" required />
          </label>
          <label>
            New password (12+ characters)
            <input name="next" type="password" autoComplete="new-password" minLength={12} required />
          </label>
          <button type="submit">Change password</button>
        </Form>
        <Form
          method="post"
          className="card"
          style={{ display: "flex", flexDirection: "column", gap: "0.6rem" }}
        >
          <h2>Delete my account</h2>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="intent" value="delete" />
          <label>
            Type delete to confirm
            <input name="confirm" required />
          </label>
          <button type="submit" className="danger">
            Delete my account
          </button>
        </Form>
      </div>
    </>
  );
}
