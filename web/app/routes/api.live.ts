import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireSession } from "../guard.server.ts";

/**
 * The live map's stream (server-sent events): `snapshot` with every active courier on connect, then `update`
 * with the couriers that moved (new position, no trail) and the sessions that ended, at most every 250 ms.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireSession(context, request, "data");
  const { live, liveStream } = context.mercury;
  if (!liveStream) {
    // On Lambda, API Gateway returns a response only when it is complete: a stream would never arrive.
    // The map sees the stream fail and polls its own data route instead (web/app/live-feed.ts).
    return Response.json(
      { error: "Live updates are not streamed here: poll the map's data", poll: "/map?_data=routes%2Fmap" },
      { status: 503, headers: { "Retry-After": "2" } },
    );
  }
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, json: string) => {
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${json}\n\n`));
        } catch {
          cleanup();
        }
      };
      send("snapshot", JSON.stringify({ couriers: live.snapshot(), at: Date.now() }));
      // The hub encodes each push once; every connection sends the same text.
      const unsubscribe = live.subscribe((payload) => send("update", payload));
      // A comment now and then keeps proxies from closing a quiet stream.
      const heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          cleanup();
        }
      }, 15_000);
      cleanup = () => {
        unsubscribe();
        clearInterval(heartbeat);
      };
      request.signal.addEventListener("abort", () => {
        cleanup();
        try {
          controller.close();
        } catch {
          // Already closed.
        }
      });
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}
