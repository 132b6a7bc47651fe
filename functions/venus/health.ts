import middy from "@middy/core";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { eventLogCheck, HealthModel, healthResponse, presentsApiKey } from "#shared/health/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import { lambdaLogging } from "#shared/logging/index.ts";

/**
 * `GET /health`: whether Venus can reach its event log, in the platform's health model (docs/operations.md).
 * 200 when no component is failing, 503 otherwise; details only for a caller presenting the API key.
 */

const config = loadConfig();
// A failed start (the broker unreachable at a cold start) is retried at the next invocation.
const healthModel = lazyStart(async () => new HealthModel([eventLogCheck(await openEventLog(config))]));

export const handler = middy<
  { headers?: Record<string, string | undefined> | null } | undefined,
  { statusCode: number; headers: Record<string, string>; body: string }
>().handler(async (event) => {
  const authenticated = presentsApiKey(lowerCaseKeys(event?.headers ?? {}), config.venus.apiKey);
  let response: { statusCode: number; body: string };
  try {
    response = await healthResponse(await healthModel(), authenticated);
  } catch (error) {
    const now = new Date().toISOString();
    response = {
      statusCode: 503,
      body: JSON.stringify({
        status: "failing",
        checkedAt: now,
        components: [
          {
            component: "event-log",
            status: "failing",
            reason: "cannot be opened",
            since: now,
            ...(authenticated ? { detail: (error as Error).message } : {}),
          },
        ],
        eventLog: { ok: false, backend: config.eventLog.backend },
      }),
    };
  }
  return { ...response, headers: { "content-type": "application/json" } };
});

// Each line logged during an invocation carries its request id and whether it was a cold start.
handler.use(lambdaLogging());

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
