import { createHash, timingSafeEqual } from "node:crypto";
import type { HealthModel } from "./health-model.ts";
import { publicHealth } from "./health-model.ts";

/** Whether a request presents the platform's API key (x-api-key header); compared in constant time. */
export function presentsApiKey(headers: Record<string, string | undefined>, apiKey: string): boolean {
  const given = headers["x-api-key"] ?? headers["X-Api-Key"];
  if (given === undefined) return false;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(apiKey));
}

/**
 * `GET /health` for both front ends (`npm start` and the Lambda function): 200 while no component is
 * failing, 503 otherwise. Every caller sees each component's status, reason, since when and figures; only
 * a caller presenting the API key also sees `detail` (file paths, broker addresses, cluster ids, errors).
 * `eventLog` keeps the shape earlier clients read (`ok`, `backend`).
 */
export async function healthResponse(
  model: HealthModel,
  authenticated: boolean,
): Promise<{ statusCode: number; body: string }> {
  const health = await model.check();
  const shown = authenticated ? health : publicHealth(health);
  const log = health.components.find((c) => c.component === "event-log");
  const body = {
    ...shown,
    ...(log
      ? {
          eventLog: {
            ok: log.status !== "failing",
            backend: log.facts?.backend ?? null,
            ...(authenticated && log.detail ? { detail: log.detail } : {}),
          },
        }
      : {}),
  };
  return { statusCode: health.status === "failing" ? 503 : 200, body: JSON.stringify(body) };
}
