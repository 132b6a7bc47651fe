import { fileURLToPath } from "node:url";
import * as build from "virtual:mercury/server-build";
import middy from "@middy/core";
import { loadConfig } from "#shared/config/index.ts";
import { lambdaLogging } from "#shared/logging/index.ts";
import { clickhouseForMercury } from "../../web/server/clickhouse-endpoint.ts";
import { loadMercuryConfig } from "../../web/server/config.ts";
import { openMercuryContext } from "../../web/server/open.ts";
import { mercuryHandler } from "./mercury.ts";

/**
 * Mercury, the dashboard, as an HTTP function (API Gateway HTTP API). scripts/build.ts bundles the Remix
 * server build in place of `virtual:mercury/server-build` and copies the browser build beside this file.
 * Accounts in DynamoDB (MERCURY_USER_STORE=dynamodb), the signing key from SSM (MERCURY_SECRET_PARAMETER).
 */

const serve = mercuryHandler({
  build,
  clientDir: fileURLToPath(new URL("./client/", import.meta.url)),
  open: async () => {
    const { context } = await openMercuryContext({
      clickhouse: await clickhouseForMercury(loadConfig()),
      config: loadMercuryConfig(),
      liveFeed: { kind: "on-request" },
    });
    return context;
  },
});

// Each line logged during an invocation carries its request id and whether it was a cold start.
export const handler = middy(serve).use(lambdaLogging());
