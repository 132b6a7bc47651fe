import { randomUUID } from "node:crypto";
import type { EventLog, LogConsumer } from "../../shared/event-log/types.ts";
import type { LiveHub } from "./live.ts";

/**
 * What the pipeline page shows from the event log (only where Mercury runs in the platform's process):
 * events per second into `sessions`, each consuming function's lag, and the rejected events by reason.
 */

export interface ConsumerGroup {
  functionName: string;
  consumerGroupId: string;
  topic: string;
}

export interface PipelineSnapshot {
  eventsPerSecond: number;
  totalEvents: number;
  lag: { functionName: string; groupId: string; lag: number }[];
  rejected: {
    reason: string;
    rejectedBy: string;
    count: number;
    examples: { error: string; value: string }[];
  }[];
  rejectedTotal: number;
}

export interface PipelineProbe {
  snapshot(): Promise<PipelineSnapshot>;
  stop(): Promise<void>;
}

const sum = (offsets: { high: string }[]) => offsets.reduce((total, p) => total + Number(p.high), 0);

export function startPipelineProbe(options: {
  log: EventLog;
  topics: { sessions: string; deadLetter: string };
  groups: readonly ConsumerGroup[];
  sampleEveryMs?: number;
}): PipelineProbe {
  const { log, topics, groups } = options;
  let samples: { at: number; total: number }[] = [];
  const sample = async () => {
    const total = sum(await log.offsets(topics.sessions));
    samples = [...samples.filter((s) => s.at > Date.now() - 30_000), { at: Date.now(), total }];
  };
  const timer = setInterval(() => void sample().catch(() => {}), options.sampleEveryMs ?? 2000);
  timer.unref();
  void sample().catch(() => {});

  // The dead letters, read from the start by a group of this process's own (counts are kept in memory).
  const rejected = new Map<string, PipelineSnapshot["rejected"][number]>();
  let dlq: LogConsumer | undefined;
  try {
    dlq = log.consume({
      groupId: `mercury-pipeline-${randomUUID().slice(0, 8)}`,
      topics: [topics.deadLetter],
      fromBeginning: true,
      eachBatch: async (batch) => {
        for (const record of batch.records) {
          const reason = record.headers.error_rule?.toString("utf8") ?? "unknown";
          const rejectedBy = record.headers.rejected_by?.toString("utf8") ?? "venus";
          const key = `${reason}\u0000${rejectedBy}`;
          const entry = rejected.get(key) ?? { reason, rejectedBy, count: 0, examples: [] };
          entry.count++;
          if (entry.examples.length < 3) {
            entry.examples.push({
              error: (record.headers.error_reason?.toString("utf8") ?? "").slice(0, 300),
              value: (record.value?.toString("utf8") ?? "").slice(0, 300),
            });
          }
          rejected.set(key, entry);
        }
      },
    });
    dlq.done.catch(() => {});
  } catch {
    dlq = undefined;
  }

  return {
    async snapshot() {
      const [first, last] = [samples[0], samples.at(-1)];
      const eventsPerSecond =
        first && last && last.at > first.at ? ((last.total - first.total) * 1000) / (last.at - first.at) : 0;
      const high = await log.offsets(topics.sessions);
      const lag = await Promise.all(
        groups.map(async (group) => {
          const committed = await log.committedOffsets(group.consumerGroupId, group.topic);
          const ends = group.topic === topics.sessions ? high : await log.offsets(group.topic);
          const behind = ends.reduce((total, p) => {
            const at = committed.find((c) => c.partition === p.partition)?.offset;
            return total + Number(p.high) - Number(at ?? p.low);
          }, 0);
          return { functionName: group.functionName, groupId: group.consumerGroupId, lag: behind };
        }),
      );
      const list = [...rejected.values()].sort((a, b) => b.count - a.count);
      return {
        eventsPerSecond,
        totalEvents: sum(high),
        lag,
        rejected: list,
        rejectedTotal: list.reduce((total, r) => total + r.count, 0),
      };
    },
    async stop() {
      clearInterval(timer);
      await dlq?.stop();
    },
  };
}

/** Feeds the live map from the tail of `sessions`: events reach browsers right after their acknowledgement. */
export function tailSessions(log: EventLog, topic: string, live: LiveHub): LogConsumer {
  const consumer = log.consume({
    groupId: `mercury-live-${randomUUID().slice(0, 8)}`,
    topics: [topic],
    fromBeginning: false,
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        if (!record.value) continue;
        try {
          live.ingest(JSON.parse(record.value.toString("utf8")) as Record<string, unknown>);
        } catch {
          // Venus accepted it, so it is JSON; a record that is not is the DLQ's business, not the map's.
        }
      }
    },
  });
  consumer.done.catch(() => {});
  return consumer;
}
