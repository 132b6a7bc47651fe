import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireSession } from "../guard.server.ts";

/** Which base map the browser draws: offline (no token), or Mapbox's style with the public token. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request, "data");
  return Response.json(context.mercury.baseMapSettings ?? { provider: "offline" }, {
    headers: { "Cache-Control": "private, no-cache" },
  });
}
