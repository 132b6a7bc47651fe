import { type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { requireSession } from "../guard.server.ts";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request);
  return redirect("/overview");
}
