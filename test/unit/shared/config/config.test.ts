import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { ConfigError } from "#shared/errors.ts";

describe("configuration", () => {
  it("defaults to the embedded mode with the original topic names and port", () => {
    // Act
    const config = loadConfig({});

    // Assess
    expect(config.eventLog.backend).toBe("embedded");
    expect(config.dataDir).toBe(path.resolve(".packetpulse"));
    expect(config.topics).toEqual({ sessions: "sessions", deadLetter: "sessions-dlq", partitions: 3 });
    expect(config.venus.port).toBe(8000);
  });

  it("switches to Kafka when the original KAFKA_BOOTSTRAP_SERVERS is set, keeping KAFKA_TOPIC and API_KEY", () => {
    // Act
    const config = loadConfig({
      KAFKA_BOOTSTRAP_SERVERS: "kafka-1:9092, kafka-2:9092",
      KAFKA_TOPIC: "deliveries",
      API_KEY: "a-long-enough-key",
    });

    // Assess
    expect(config.eventLog.backend).toBe("kafka");
    expect(config.eventLog.kafka?.brokers).toEqual(["kafka-1:9092", "kafka-2:9092"]);
    expect(config.topics.sessions).toBe("deliveries");
    expect(config.venus.apiKey).toBe("a-long-enough-key");
  });

  it("treats empty variables as unset, as compose files pass them", () => {
    // Act
    const config = loadConfig({ KAFKA_BOOTSTRAP_SERVERS: "", VENUS_PORT: "" });

    // Assess
    expect(config.eventLog.backend).toBe("embedded");
    expect(config.venus.port).toBe(8000);
  });

  it.each([
    [{ VENUS_PORT: "99999" }, 'VENUS_PORT must be a TCP port between 1 and 65535 (got "99999")'],
    [{ KAFKA_PARTITIONS: "many" }, 'KAFKA_PARTITIONS must be a number (got "many")'],
    [
      { KAFKA_BOOTSTRAP_SERVERS: "localhost" },
      "KAFKA_BOOTSTRAP_SERVERS must be a comma-separated list of host:port",
    ],
    [{ PACKETPULSE_EVENT_LOG: "redis" }, "PACKETPULSE_EVENT_LOG must be 'embedded' or 'kafka'"],
    [
      { PACKETPULSE_EVENT_LOG: "kafka" },
      "KAFKA_BOOTSTRAP_SERVERS is required when PACKETPULSE_EVENT_LOG=kafka",
    ],
    [{ API_KEY: "short" }, 'API_KEY must be at least 8 characters (got "short")'],
    [{ KAFKA_SSL: "maybe" }, 'KAFKA_SSL must be true or false (got "maybe")'],
    [{ KAFKA_TOPIC: "same", KAFKA_DLQ_TOPIC: "same" }, "KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC"],
    [{ KAFKA_SASL_MECHANISM: "plain" }, "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required"],
  ])("stops on %o naming the variable and what is expected", (env, message) => {
    // Act
    const attempt = () => loadConfig(env);

    // Assess
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
  });
});
