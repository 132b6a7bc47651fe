import { afterEach, describe, expect, it } from "vitest";
import { ClickHouseStoreError, openClickHouse } from "#shared/clickhouse/index.ts";

/** A deployed function without CLICKHOUSE_URL stops with the reason, instead of reaching for chDB. */
describe("the embedded ClickHouse on Lambda", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("is refused on Lambda, naming CLICKHOUSE_URL", async () => {
    // Prepare
    process.env.AWS_LAMBDA_FUNCTION_NAME = "packetpulse-prod-jupiter";
    delete process.env.IS_OFFLINE;

    // Act
    const opening = openClickHouse({
      backend: "embedded",
      path: "/tmp/never-created",
      database: "packetpulse",
    });

    // Assess
    await expect(opening).rejects.toBeInstanceOf(ClickHouseStoreError);
    await expect(opening).rejects.toThrow(
      /CLICKHOUSE_URL is required on AWS Lambda \(function packetpulse-prod-jupiter\)/,
    );
  });
});
