import { z } from "zod";
import type { PlatformHealth } from "../../shared/health/index.ts";

/**
 * The platform's health model (shared/health) as the pipeline page shows it: read from `GET /health` of the
 * platform's Venus server with the API key, so the answer carries each component's details (decision 033).
 * Mercury need not share the platform's process for this: `npm run web` beside `npm start` reads the same.
 */

const statusSchema = z.enum(["ok", "degraded", "failing"]);
const healthSchema = z.object({
  status: statusSchema,
  checkedAt: z.string(),
  components: z.array(
    z.object({
      component: z.string(),
      status: statusSchema,
      reason: z.string(),
      detail: z.string().optional(),
      since: z.string(),
      facts: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    }),
  ),
});

export type PlatformHealthReading =
  | { state: "read"; health: PlatformHealth; url: string }
  | { state: "unreachable"; url: string; message: string };

export type HealthSource = () => Promise<PlatformHealthReading>;

export function venusHealth(options: { url: string; apiKey: string; timeoutMs?: number }): HealthSource {
  return async () => {
    try {
      const response = await fetch(options.url, {
        headers: { "x-api-key": options.apiKey },
        signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
      });
      // 503 is an answer too: some component is failing, and the body says which.
      const parsed = healthSchema.safeParse(await response.json());
      if (!parsed.success) {
        return {
          state: "unreachable",
          url: options.url,
          message: `the answer (HTTP ${response.status}) is not the health model: ${parsed.error.issues[0]?.message}`,
        };
      }
      return { state: "read", health: parsed.data, url: options.url };
    } catch (error) {
      return {
        state: "unreachable",
        url: options.url,
        message: `${(error as Error).message}: start the platform (npm start), or check VENUS_HOST and VENUS_PORT`,
      };
    }
  };
}
