import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import middy from "@middy/core";
import { z } from "zod";
import { loadConfig } from "#shared/config/index.ts";
import { lazyStart } from "#shared/lambda/lazy-start.ts";
import { lambdaLogging, logger } from "#shared/logging/index.ts";
import { openVenusRuntime } from "./runtime.ts";

/**
 * Venus as a Lambda function behind an API Gateway WebSocket API ($connect, $default, $disconnect), and
 * under serverless offline. The reply to a frame is the route response (`routeResponseSelectionExpression:
 * $default`); closing a connection goes through the API Gateway management API.
 */

const config = loadConfig();
const venusLines = logger("venus");
// A failed start (the broker unreachable at a cold start) is retried at the next invocation.
const venusRuntime = lazyStart(() => openVenusRuntime(config));

const stringMap = z.record(z.string(), z.string().optional()).nullish();

export const websocketEvent = z.object({
  requestContext: z.object({
    routeKey: z.string(),
    connectionId: z.string().min(1),
    domainName: z.string().optional(),
    stage: z.string().optional(),
    identity: z.object({ sourceIp: z.string().nullish() }).partial().optional(),
  }),
  headers: stringMap,
  queryStringParameters: stringMap,
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().optional(),
});

export type WebsocketEvent = z.infer<typeof websocketEvent>;

export interface WebsocketResult {
  statusCode: number;
  body?: string;
}

/**
 * Where API Gateway's @connections API is for this request. serverless offline serves it on its WebSocket
 * port and reports the domain as "localhost"; it checks no signature, so local credentials do.
 */
function managementClientConfig(event: WebsocketEvent) {
  const { domainName = "localhost", stage = "local" } = event.requestContext;
  const offline = domainName === "localhost";
  const endpoint =
    config.venus.managementEndpoint ??
    (offline ? `http://127.0.0.1:${config.venus.port}` : `https://${domainName}/${stage}`);
  return {
    endpoint,
    region: config.aws.region,
    ...(offline ? { credentials: { accessKeyId: "offline", secretAccessKey: "offline" } } : {}),
  };
}

/**
 * Sends the reply and closes the connection. A client that is already gone (410 GoneException from the
 * @connections API) needs neither: that is the outcome wanted, not an error of this frame.
 */
async function closeWithReply(event: WebsocketEvent, reply: string): Promise<void> {
  const client = new ApiGatewayManagementApiClient(managementClientConfig(event));
  const ConnectionId = event.requestContext.connectionId;
  try {
    await client.send(new PostToConnectionCommand({ ConnectionId, Data: Buffer.from(reply) }));
    await client.send(new DeleteConnectionCommand({ ConnectionId }));
  } catch (error) {
    if (!(error instanceof GoneException)) throw error;
  } finally {
    client.destroy();
  }
}

export async function handleWebsocket(event: WebsocketEvent): Promise<WebsocketResult> {
  const { venus } = await venusRuntime();
  const { routeKey, connectionId } = event.requestContext;
  switch (routeKey) {
    case "$connect": {
      const outcome = await venus.connect({
        connectionId,
        headers: event.headers ?? undefined,
        query: event.queryStringParameters ?? undefined,
        sourceIp: event.requestContext.identity?.sourceIp ?? undefined,
      });
      return outcome.accepted
        ? { statusCode: 200 }
        : {
            statusCode: outcome.statusCode,
            body: JSON.stringify({ status: "error", message: outcome.message }),
          };
    }
    case "$disconnect":
      await venus.disconnect(connectionId);
      return { statusCode: 200 };
    default: {
      const frame =
        event.isBase64Encoded && event.body
          ? Buffer.from(event.body, "base64").toString("utf8")
          : (event.body ?? "");
      const { reply, close } = await venus.receive(connectionId, frame);
      if (close) {
        try {
          await closeWithReply(event, reply);
        } catch (error) {
          // The management API failed: the reply still reaches the client as the route response.
          venusLines.error(`cannot close connection ${connectionId}: ${(error as Error).message}`);
          return { statusCode: 200, body: reply };
        }
        return { statusCode: 200 };
      }
      return { statusCode: 200, body: reply };
    }
  }
}

export const handler = middy<unknown, WebsocketResult>().handler(async (event) => {
  const parsed = websocketEvent.safeParse(event);
  if (!parsed.success) {
    return {
      statusCode: 400,
      body: JSON.stringify({ error: "invalid_event", message: parsed.error.message }),
    };
  }
  return handleWebsocket(parsed.data);
});
// Each line logged during an invocation carries its request id and whether it was a cold start.
handler.use(lambdaLogging());
