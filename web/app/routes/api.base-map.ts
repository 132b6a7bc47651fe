import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireSession } from "../guard.server.ts";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request, "data");
  return Response.json(context.mercury.baseMap(), { headers: { "Cache-Control": "private, max-age=3600" } });
}
