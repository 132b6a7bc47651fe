import { describe, expect, it } from "vitest";
import {
  EventSourceConfigError,
  eventSourceSpecs,
  loadServerlessFile,
  parseServerlessYaml,
} from "#shared/runtime/index.ts";

/** A serverless variable reference, `${expression}`. */
const variable = (expression: string) => `$\{${expression}}`;

const wiring = `
service: packetpulse
params:
  local:
    group: \${env:GROUP_PREFIX, 'local'}-jupiter
  default:
    group: jupiter
provider:
  name: aws
  stage: \${opt:stage, 'local'}
  timeout: 29
custom:
  failures: sessions-failures-\${sls:stage}
functions:
  jupiter:
    handler: dist/functions/jupiter/handler.handler
    timeout: 60
    events:
      - msk:
          arn: arn:aws:kafka:eu-west-1:123456789012:cluster/packetpulse/abc-1
          topic: \${env:KAFKA_TOPIC, 'sessions'}
          consumerGroupId: \${param:group}
          batchSize: 500
          maximumBatchingWindow: 2
          functionResponseTypes: [ReportBatchItemFailures]
          bisectBatchOnFunctionError: true
          maximumRetryAttempts: 3
          maximumRecordAgeInSeconds: 3600
          destinationConfig:
            onFailure:
              destination: kafka://\${self:custom.failures}
  neptune:
    handler: dist/functions/neptune/handler.handler
    events:
      - kafka:
          topic: sessions
          bootstrapServers: [kafka-1:9092, kafka-2:9092]
          startingPosition: AT_TIMESTAMP
          startingPositionTimestamp: 1714554900
      - websocket:
          route: $default
resources:
  Resources:
    Table:
      Properties:
        Arn: !GetAtt Something.Arn
`;

describe("event sources from serverless.yml", () => {
  it("resolves variables and applies the event settings", () => {
    // Prepare
    const env = { KAFKA_TOPIC: "sessions-test", GROUP_PREFIX: "ci" };

    // Act
    const specs = eventSourceSpecs(parseServerlessYaml(wiring, { env }));

    // Assess
    expect(specs[0]).toEqual({
      functionName: "jupiter",
      handler: "dist/functions/jupiter/handler.handler",
      timeoutSeconds: 60,
      kind: "msk",
      topic: "sessions-test",
      consumerGroupId: "ci-jupiter",
      batchSize: 500,
      maximumBatchingWindowMs: 2000,
      startingPosition: "TRIM_HORIZON",
      startingPositionTimestampMs: undefined,
      eventSourceArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/packetpulse/abc-1",
      bootstrapServers: "localhost:9092",
      reportBatchItemFailures: true,
      maximumRetryAttempts: 3,
      maximumRecordAgeInSeconds: 3600,
      bisectBatchOnFunctionError: true,
      onFailureTopic: "sessions-failures-local",
      enabled: true,
    });
  });

  it("applies Lambda's defaults to a self-managed Kafka event", () => {
    // Prepare
    const service = parseServerlessYaml(wiring, { env: {}, stage: "prod" });

    // Act
    const [, neptune] = eventSourceSpecs(service);

    // Assess
    expect(neptune).toMatchObject({
      kind: "kafka",
      consumerGroupId: "packetpulse-neptune",
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      startingPosition: "AT_TIMESTAMP",
      startingPositionTimestampMs: 1_714_554_900_000,
      bootstrapServers: "kafka-1:9092,kafka-2:9092",
      reportBatchItemFailures: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      timeoutSeconds: 29,
    });
    expect(neptune!.eventSourceArn).toBeUndefined();
  });

  it("rejects a batch size above 10 000 with the event's path", () => {
    // Prepare
    const invalid = wiring.replace("batchSize: 500", "batchSize: 20000");

    // Act
    const read = () => eventSourceSpecs(parseServerlessYaml(invalid, { env: {} }));

    // Assess
    expect(read).toThrow(EventSourceConfigError);
    expect(read).toThrow(/functions\.jupiter\.events\[0\]\.msk\.batchSize/);
  });

  it("rejects an on-failure destination that is the source topic", () => {
    // Prepare
    const looping = wiring.replace(`kafka://${variable("self:custom.failures")}`, "kafka://sessions");

    // Act
    const read = () => eventSourceSpecs(parseServerlessYaml(looping, { env: {} }));

    // Assess
    expect(read).toThrow(/must differ from the source topic/);
  });

  it("names a variable it cannot resolve", () => {
    // Prepare
    const unresolved = wiring.replace(
      variable("env:KAFKA_TOPIC, 'sessions'"),
      variable("env:NOT_SET_ANYWHERE"),
    );

    // Act
    const read = () => parseServerlessYaml(unresolved, { env: {} });

    // Assess
    expect(read).toThrow(/\$\{env:NOT_SET_ANYWHERE\}/);
  });

  it("reads the project's serverless.yml", () => {
    // Prepare
    const env = { AWS_REGION: "eu-west-1" };

    // Act
    const service = loadServerlessFile("serverless.yml", { env });

    // Assess
    expect(service.service).toBe("packetpulse");
    expect(service.provider?.region).toBe("eu-west-1");
    expect(() => eventSourceSpecs(service)).not.toThrow();
  });
});
