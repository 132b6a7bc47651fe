import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { LogLevel } from "#shared/config/index.ts";
import { logSettings, onLogSettings } from "./settings.ts";
import type { LogAttributes } from "./types.ts";

/**
 * On Lambda every component writes through one Powertools logger: one JSON object per line with the level,
 * the time, the service, the component, and — once `lambdaLogging()` has seen the invocation — the request
 * id, the function and whether this was a cold start.
 * https://docs.aws.amazon.com/powertools/typescript/latest/features/logger/
 */

export const SERVICE_NAME = "packetpulse";

const POWERTOOLS_LEVEL = { debug: "DEBUG", info: "INFO", warn: "WARN", error: "ERROR" } as const;

let root: PowertoolsLogger | undefined;

function lambdaRoot(): PowertoolsLogger {
  if (root === undefined) {
    const created = new PowertoolsLogger({
      serviceName: SERVICE_NAME,
      logLevel: POWERTOOLS_LEVEL[logSettings().level],
    });
    onLogSettings((settings) => created.setLogLevel(POWERTOOLS_LEVEL[settings.level]));
    root = created;
  }
  return root;
}

export function writeJsonLine(
  level: LogLevel,
  fields: { component: string; scope?: string },
  message: string,
  attributes?: LogAttributes,
): void {
  lambdaRoot()[level](message, { ...fields, ...attributes });
}

/**
 * The middy middleware of every deployed handler: adds the invocation's context (request id, cold start,
 * function) to the lines written during it. Under `npm start` and in tests it changes nothing.
 */
export function lambdaLogging(): ReturnType<typeof injectLambdaContext> {
  return injectLambdaContext(lambdaRoot());
}
