import type { LoaderFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import type { BronzePage } from "../../server/bronze.ts";
import { requireSession } from "../guard.server.ts";

/** A page of a session's raw events from bronze (oldest first, newest last), for the session page. */

const querySchema = z.object({
  sessionId: z.uuid({ error: "The session id must be a UUID" }),
  page: z.coerce.number().int().min(1, { error: "page starts at 1" }).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
  from: z.iso.datetime({ offset: true, local: true }).optional(),
  to: z.iso.datetime({ offset: true, local: true }).optional(),
});

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireSession(context, request, "data");
  const search = Object.fromEntries(
    [...new URL(request.url).searchParams].filter(([, value]) => value !== ""),
  );
  const parsed = querySchema.safeParse({ ...search, sessionId: params.sessionId });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return Response.json({ error: `${issue?.path.join(".")}: ${issue?.message}` }, { status: 400 });
  }
  const { sessionId, page, pageSize, from, to } = parsed.data;
  const bronze = context.mercury.bronze;
  const answer: BronzePage = bronze
    ? await bronze.sessionEvents(sessionId, {
        page,
        pageSize,
        ...(from ? { days: { from, to: to ?? null } } : {}),
      })
    : {
        state: "error",
        message:
          "Mercury has no bronze table configured: it reads the platform's configuration (PACKETPULSE_DATA_DIR, ICEBERG_REST_URL); see the start-up lines for why it could not.",
      };
  return Response.json(answer, { headers: { "Cache-Control": "private, no-store" } });
}
