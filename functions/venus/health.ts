import middy from "@middy/core";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/log/index.ts";
import type { EventLog } from "#shared/log/types.ts";

/** `GET /health`: whether Venus can reach its event log. 200 when it can, 503 otherwise. */

const config = loadConfig();
let eventLog: Promise<EventLog> | undefined;

export const handler = middy<
  unknown,
  { statusCode: number; headers: Record<string, string>; body: string }
>().handler(async () => {
  eventLog ??= openEventLog(config);
  const health = await (await eventLog).health();
  return {
    statusCode: health.ok ? 200 : 503,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ status: health.ok ? "ok" : "unavailable", eventLog: health }),
  };
});
