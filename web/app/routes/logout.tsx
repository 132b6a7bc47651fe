import { type ActionFunctionArgs, redirect } from "@remix-run/node";
import { requireForm, requireSession } from "../guard.server.ts";

export async function action({ request, context }: ActionFunctionArgs) {
  const session = await requireSession(context, request);
  await requireForm(context, request, session);
  return redirect("/login", { headers: { "Set-Cookie": context.mercury.auth.clearCookie() } });
}

export async function loader() {
  return redirect("/overview");
}
