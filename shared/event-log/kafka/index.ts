import type { KafkaConfig } from "#shared/config/index.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import { KafkaEventLog, type KafkaEventLogOptions } from "./event-log.ts";

export { KafkaEventLog, type KafkaEventLogOptions } from "./event-log.ts";
export type { GroupCommitStats } from "./group-commit.ts";
export { type KafkaLogLevelName, type KafkaLogLine, type KafkaLogSink, kafkaLogLevelFor } from "./logger.ts";

/**
 * Opens the Kafka backend of the event log. Nothing connects until first use: `health()` reports an
 * unreachable cluster instead of throwing, and appends wait (up to `appendTimeoutMs`) for a broker.
 */
export async function openKafkaEventLog(
  config: KafkaConfig,
  options?: KafkaEventLogOptions,
): Promise<EventLog & Pick<KafkaEventLog, "appendStats">> {
  return new KafkaEventLog(config, options);
}
