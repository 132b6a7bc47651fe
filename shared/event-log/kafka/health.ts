import type { Admin, Kafka } from "kafkajs";
import type { LogHealth } from "#shared/event-log/types.ts";
import { describeKafkaError } from "./errors.ts";
import { settleDisconnects, TIMED_OUT, within } from "./within.ts";

/**
 * The Kafka event log's health: a quick describe-cluster through a client of its own without retries
 * (so it answers within `timeoutMs`), plus the last append failure not followed by a success.
 */
export class KafkaHealthProbe {
  private healthAdmin: Admin | undefined;

  constructor(
    private readonly healthKafka: Kafka,
    private readonly brokersText: string,
    private readonly timeoutMs: number,
  ) {}

  /** `lastAppendError` is read once the cluster has answered. */
  async check(lastAppendError: () => { at: number; message: string } | undefined): Promise<LogHealth> {
    const probe = (async () => {
      this.healthAdmin ??= this.healthKafka.admin({ retry: { retries: 0 } });
      await this.healthAdmin.connect();
      return this.healthAdmin.describeCluster();
    })();
    probe.catch(() => {});
    try {
      const cluster = await within(probe, this.timeoutMs);
      if (cluster === TIMED_OUT) throw new Error(`no answer within ${this.timeoutMs} ms`);
      const brokers = cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(", ");
      const failed = lastAppendError();
      return {
        ok: cluster.brokers.length > 0,
        backend: "kafka",
        detail: `Kafka cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s) (${brokers}), controller ${cluster.controller ?? "none"}`,
        ...(failed
          ? { lastAppendError: { at: new Date(failed.at).toISOString(), message: failed.message } }
          : {}),
      };
    } catch (error) {
      const admin = this.healthAdmin;
      this.healthAdmin = undefined;
      void admin?.disconnect().catch(() => {});
      return {
        ok: false,
        backend: "kafka",
        detail: `Kafka ${this.brokersText} unreachable: ${describeKafkaError(error)}`,
      };
    }
  }

  async close(): Promise<void> {
    await settleDisconnects([this.healthAdmin?.disconnect()]);
    this.healthAdmin = undefined;
  }
}
