import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { UserStoreError } from "../../server/users.ts";
import { requireAdmin, requireForm } from "../guard.server.ts";
import { LocalTime } from "../ui.tsx";

export const userActionSchema = z.discriminatedUnion("intent", [
  z.object({
    intent: z.literal("create"),
    email: z.email({ error: "Enter an email address" }).max(254),
    password: z.string().min(12, { error: "Passwords have at least 12 characters" }).max(1024),
    role: z.enum(["admin", "viewer"]),
  }),
  z.object({ intent: z.literal("role"), id: z.uuid(), role: z.enum(["admin", "viewer"]) }),
  z.object({ intent: z.literal("delete"), id: z.uuid() }),
]);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const session = await requireAdmin(context, request);
  return { users: await context.mercury.users.list(), csrf: session.csrfToken, me: session.user.id };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const session = await requireAdmin(context, request, "data");
  const form = await requireForm(context, request, session);
  const parsed = userActionSchema.safeParse(Object.fromEntries(form));
  if (!parsed.success)
    return Response.json({ error: parsed.error.issues.map((i) => i.message).join("; ") }, { status: 400 });
  const { users } = context.mercury;
  try {
    const input = parsed.data;
    if (input.intent === "create") {
      const user = await users.create(input.email, input.password, input.role);
      return Response.json({ notice: `Created ${user.email} (${user.role})` });
    }
    if (input.intent === "role") {
      await users.setRole(input.id, input.role);
      return Response.json({ notice: "Role changed" });
    }
    await users.delete(input.id);
    return Response.json({ notice: "Account deleted" });
  } catch (error) {
    if (error instanceof UserStoreError) return Response.json({ error: error.message }, { status: 409 });
    throw error;
  }
}

export default function Users() {
  const { users, csrf, me } = useLoaderData<typeof loader>();
  const result = useActionData<{ error?: string; notice?: string }>();
  return (
    <>
      <h1>Users</h1>
      {result?.error ? (
        <p className="alert" role="alert">
          {result.error}
        </p>
      ) : null}
      {result?.notice ? <p className="notice">{result.notice}</p> : null}
      <Form method="post" className="inline card">
        <input type="hidden" name="csrf" value={csrf} />
        <input type="hidden" name="intent" value="create" />
        <label>
          Email
          <input name="email" type="email" required />
        </label>
        <label>
          Password (12+ characters)
          <input name="password" type="password" minLength={12} required autoComplete="new-password" />
        </label>
        <label>
          Role
          <select name="role" defaultValue="viewer">
            <option>viewer</option>
            <option>admin</option>
          </select>
        </label>
        <button type="submit">Add user</button>
      </Form>
      <section className="card table-wrap">
        <table data-testid="users">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  <Form method="post" style={{ display: "flex", gap: "0.3rem" }}>
                    <input type="hidden" name="csrf" value={csrf} />
                    <input type="hidden" name="intent" value="role" />
                    <input type="hidden" name="id" value={u.id} />
                    <select name="role" defaultValue={u.role} aria-label={`Role of ${u.email}`}>
                      <option>viewer</option>
                      <option>admin</option>
                    </select>
                    <button type="submit" className="secondary">
                      Set
                    </button>
                  </Form>
                </td>
                <td>
                  <LocalTime iso={u.createdAt} />
                </td>
                <td>
                  {u.id === me ? (
                    "you"
                  ) : (
                    <Form method="post">
                      <input type="hidden" name="csrf" value={csrf} />
                      <input type="hidden" name="intent" value="delete" />
                      <input type="hidden" name="id" value={u.id} />
                      <button type="submit" className="danger">
                        Delete
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
