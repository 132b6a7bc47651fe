import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openVenusRuntime } from "#functions/venus/runtime.ts";
import { loadConfig } from "#shared/config/index.ts";
import { parameterName, readParameter, readScramSecret } from "#shared/config/parameters.ts";
import { ConfigError } from "#shared/errors.ts";
import { kafkaSaslOptions } from "#shared/event-log/kafka/event-log.ts";

/**
 * Secrets of deployed stages, read at start-up from SSM Parameter Store (moto's, PACKETPULSE_TEST_DYNAMODB_ENDPOINT
 * serves every AWS API it emulates), and MSK's IAM sign-in token.
 */

const endpoint = process.env.PACKETPULSE_TEST_DYNAMODB_ENDPOINT;
const source = { region: "us-east-1", endpoint };

describe.skipIf(!endpoint)("secrets from SSM parameters", () => {
  const prefix = `/packetpulse-test/${randomUUID().slice(0, 8)}`;
  const ssm = new SSMClient({ ...source, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-parameters-"));

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= "test";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test";
    const put = (Name: string, Value: string) =>
      ssm.send(new PutParameterCommand({ Name, Value, Type: "SecureString", Overwrite: true }));
    await put(`${prefix}/api-key`, "key-from-parameter-store");
    await put(`${prefix}/scram`, JSON.stringify({ username: "venus", password: "scram-secret" }));
    await put(`${prefix}/not-json`, "plain text");
  });

  afterAll(async () => {
    for (const name of ["api-key", "scram", "not-json"]) {
      await ssm.send(new DeleteParameterCommand({ Name: `${prefix}/${name}` })).catch(() => undefined);
    }
    ssm.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("reads a SecureString parameter, and MSK's SCRAM secret format", async () => {
    // Act
    const key = await readParameter(`${prefix}/api-key`, source);
    const scram = await readScramSecret(`${prefix}/scram`, source);

    // Assess
    expect(key).toBe("key-from-parameter-store");
    expect(scram).toEqual({ username: "venus", password: "scram-secret" });
  });

  it("asks Parameter Store for a Secrets Manager secret by its name, also when given its ARN", () => {
    expect(
      parameterName(
        "/aws/reference/secretsmanager/arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_packetpulse-AbCdEf",
      ),
    ).toBe("/aws/reference/secretsmanager/AmazonMSK_packetpulse");
    expect(parameterName("/aws/reference/secretsmanager/AmazonMSK_packetpulse")).toBe(
      "/aws/reference/secretsmanager/AmazonMSK_packetpulse",
    );
    expect(parameterName("/packetpulse/prod/api-key")).toBe("/packetpulse/prod/api-key");
  });

  it("names the parameter and what to check when it cannot be read or has the wrong shape", async () => {
    // Act
    const missing = readParameter(`${prefix}/missing`, source);
    const notJson = readScramSecret(`${prefix}/not-json`, source);

    // Assess
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(missing).rejects.toThrow(`Cannot read parameter ${prefix}/missing`);
    await expect(notJson).rejects.toThrow(/must hold a JSON object with "username" and "password"/);
  });

  it("gives Venus the API key from its parameter, not the environment's default", async () => {
    // Prepare
    const config = loadConfig({
      PACKETPULSE_DATA_DIR: dataDir,
      PACKETPULSE_EVENT_LOG: "embedded",
      API_KEY_PARAMETER: `${prefix}/api-key`,
      AWS_ENDPOINT_URL: endpoint,
    });
    const runtime = await openVenusRuntime(config);

    // Act
    const withParameterKey = await runtime.venus.connect({
      connectionId: "c-1",
      headers: { "x-api-key": "key-from-parameter-store" },
    });
    const withDefaultKey = await runtime.venus.connect({
      connectionId: "c-2",
      headers: { "x-api-key": "packetpulse-dev-key" },
    });
    await runtime.close();

    // Assess
    expect(withParameterKey).toEqual({ accepted: true });
    expect(withDefaultKey).toMatchObject({ accepted: false, statusCode: 401 });
  });
});

describe("MSK IAM access control", () => {
  it("signs in with SASL/OAUTHBEARER and a token signed for kafka-cluster:Connect in the region", async () => {
    // Prepare: static credentials, as a function's role gives them to the SDK.
    process.env.AWS_ACCESS_KEY_ID ??= "test";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test";
    const config = loadConfig({
      KAFKA_BOOTSTRAP_SERVERS: "b-1.example.kafka.eu-west-1.amazonaws.com:9098",
      KAFKA_SSL: "true",
      KAFKA_SASL_MECHANISM: "aws-msk-iam",
      AWS_REGION: "eu-west-1",
    });

    // Act
    const sasl = kafkaSaslOptions(config.eventLog.kafka!.sasl) as {
      mechanism: string;
      oauthBearerProvider: () => Promise<{ value: string }>;
    };
    const { value } = await sasl.oauthBearerProvider();
    const signed = new URL(Buffer.from(value, "base64url").toString("utf8"));

    // Assess
    expect(sasl.mechanism).toBe("oauthbearer");
    expect(signed.host).toBe("kafka.eu-west-1.amazonaws.com");
    expect(signed.searchParams.get("Action")).toBe("kafka-cluster:Connect");
    expect(signed.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(signed.searchParams.get("X-Amz-Credential")).toMatch(/\/eu-west-1\/kafka-cluster\/aws4_request$/);
  });

  it("refuses IAM access control without TLS", () => {
    expect(() =>
      loadConfig({ KAFKA_BOOTSTRAP_SERVERS: "broker:9098", KAFKA_SASL_MECHANISM: "aws-msk-iam" }),
    ).toThrow(/KAFKA_SSL must be true with KAFKA_SASL_MECHANISM=aws-msk-iam/);
  });
});

describe("an API key read from a parameter", () => {
  it("leaves no public default standing in for the key before it is read", () => {
    // Act
    const config = loadConfig({ API_KEY_PARAMETER: "/packetpulse/prod/api-key" });

    // Assess
    expect(config.venus.apiKeyParameter).toBe("/packetpulse/prod/api-key");
    expect(config.venus.apiKeyIsDefault).toBe(false);
    expect(config.venus.apiKey).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({ API_KEY_PARAMETER: "/p" }).venus.apiKey).not.toBe(config.venus.apiKey);
  });
});
