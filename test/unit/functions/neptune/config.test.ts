import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { ConfigError } from "#shared/errors.ts";

/** The bronze settings of shared/config: defaults for the embedded mode, the REST/S3 mode, rejections. */

describe("bronze configuration", () => {
  it("defaults to default.sessions in a warehouse folder of the data folder with a file-system catalog", () => {
    // Act
    const config = loadConfig({ PACKETPULSE_DATA_DIR: "/srv/pp" });

    // Assess
    expect(config.bronze).toMatchObject({
      namespace: "default",
      table: "sessions",
      warehouse: { catalog: "filesystem", warehouse: path.resolve("/srv/pp/warehouse") },
      commitIntervalMs: 5000,
      commitRows: 10_000,
    });
  });

  it("uses S3 behind a REST catalog when ICEBERG_REST_URL is set", () => {
    // Act
    const config = loadConfig({
      ICEBERG_REST_URL: "http://catalog:8181",
      BRONZE_WAREHOUSE: "s3://lake/bronze",
      S3_ENDPOINT: "http://minio:9000",
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: "key",
      S3_SECRET_ACCESS_KEY: "secret",
      BRONZE_TABLE: "raw_sessions",
    });

    // Assess
    expect(config.bronze.table).toBe("raw_sessions");
    expect(config.bronze.warehouse).toEqual({
      catalog: "rest",
      url: "http://catalog:8181",
      token: undefined,
      warehouse: "s3://lake/bronze",
      s3: {
        region: "us-east-1",
        endpoint: "http://minio:9000",
        forcePathStyle: true,
        credentials: { accessKeyId: "key", secretAccessKey: "secret" },
      },
    });
  });

  it("refuses an s3:// warehouse without a REST catalog", () => {
    expect(() => loadConfig({ BRONZE_WAREHOUSE: "s3://lake/bronze" })).toThrow(
      /ICEBERG_REST_URL is required/,
    );
  });

  it("refuses half a pair of S3 credentials", () => {
    expect(() => loadConfig({ S3_ACCESS_KEY_ID: "key" })).toThrow(ConfigError);
  });

  it("refuses a table name Iceberg engines cannot address", () => {
    expect(() => loadConfig({ BRONZE_TABLE: "my-table" })).toThrow(/BRONZE_TABLE must be an Iceberg name/);
  });
});
