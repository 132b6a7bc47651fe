import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

/** `serverless package` for a deployed stage: the CloudFormation template AWS would receive. */
describe("serverless package", () => {
  const out = mkdtempSync(path.join(tmpdir(), "packetpulse-package-"));
  let resources: Record<string, Resource> = {};

  beforeAll(async () => {
    await run("npx", ["serverless", "package", "--stage", "prod", "--package", out], {
      env: { ...process.env, KAFKA_PARTITIONS: "3", KAFKA_TOPIC: "sessions" },
      timeout: 120_000,
    });
    const template = JSON.parse(
      readFileSync(path.join(out, "cloudformation-template-update-stack.json"), "utf8"),
    );
    resources = template.Resources;
  }, 150_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("compiles Jupiter's msk trigger with its error handling, destination and provisioned pollers", () => {
    // Prepare
    const mappings = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::EventSourceMapping");

    // Act
    const jupiter = mappings.find(
      (r) =>
        (r.Properties.FunctionName as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] ===
        "JupiterLambdaFunction",
    );

    // Assess
    expect(jupiter?.Properties).toMatchObject({
      Topics: ["sessions"],
      BatchSize: 10000,
      MaximumBatchingWindowInSeconds: 1,
      StartingPosition: "TRIM_HORIZON",
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: "packetpulse-jupiter" },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      MaximumRetryAttempts: 10,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: "kafka://sessions-jupiter-failed" } },
      ProvisionedPollerConfig: { MinimumPollers: 1 },
    });
    const pollers = jupiter?.Properties.ProvisionedPollerConfig as { MaximumPollers?: unknown } | undefined;
    expect(Number(pollers?.MaximumPollers)).toBe(3);
  });

  it("compiles Neptune's msk trigger with its own consumer group, destination and pollers", () => {
    // Prepare
    const mappings = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::EventSourceMapping");

    // Act
    const neptune = mappings.find(
      (r) =>
        (r.Properties.FunctionName as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] ===
        "NeptuneLambdaFunction",
    );

    // Assess
    expect(neptune?.Properties).toMatchObject({
      Topics: ["sessions"],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: "packetpulse-neptune" },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: { OnFailure: { Destination: "kafka://sessions-neptune-failed" } },
      ProvisionedPollerConfig: { MinimumPollers: 1 },
    });
  });

  it("lets the functions write to the on-failure topic", () => {
    // Prepare
    const role = resources.IamRoleLambdaExecution!;

    // Act
    const statements = JSON.stringify(role.Properties.Policies);

    // Assess
    expect(statements).toContain("kafka-cluster:WriteData");
    expect(statements).toContain("topic/*/*/sessions-jupiter-failed");
    expect(statements).toContain("topic/*/*/sessions-neptune-failed");
  });
});
