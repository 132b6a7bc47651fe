import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireSession } from "../guard.server.ts";

/** The world outline (Natural Earth land and borders) the offline base map draws under the roads. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request, "data");
  const world = context.mercury.worldMap?.() ?? { type: "FeatureCollection", features: [] };
  return Response.json(world, { headers: { "Cache-Control": "private, max-age=86400" } });
}
