import type { PacketPulseConfig } from "../../shared/config/index.ts";
import { openEventLog } from "../../shared/event-log/index.ts";
import type { LiveFeed } from "./open.ts";

/**
 * The live map's feed for Mercury on its own (`npm run web`, its compose service): the `sessions` topic, in a
 * consumer group of its own, when the configuration has Kafka (KAFKA_BOOTSTRAP_SERVERS); otherwise silver's
 * newest positions, polled over ClickHouse's HTTP interface every second. The embedded log is not shared:
 * it belongs to the platform's process, which serves Mercury itself.
 */
export async function standaloneLiveFeed(
  config: PacketPulseConfig,
): Promise<{ feed: LiveFeed; source: string; close(): Promise<void> }> {
  if (config.eventLog.backend !== "kafka") {
    return { feed: { kind: "silver" }, source: "silver, polled every second", close: async () => {} };
  }
  const log = await openEventLog(config);
  return {
    feed: { kind: "log", log, topic: config.topics.sessions },
    source: `Kafka topic ${config.topics.sessions}`,
    close: () => log.close(),
  };
}
