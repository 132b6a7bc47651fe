import type { Venus } from "#functions/venus/ingest.ts";
import type { EventLog } from "#shared/event-log/types.ts";
import { logger } from "#shared/logging/index.ts";

/**
 * The periodic progress line of `npm start` (standard output, whatever LOG_LEVEL): events in the topics,
 * the rate since the last line, rejections and failed authentications. A line is printed whenever any of
 * them changed, so rejections show as they happen even when nothing is accepted.
 */

const monitorLog = logger("host").child("monitor");

export interface ArrivalMonitor {
  /** Prints one last line, whether or not anything changed, and stops. */
  stop(): Promise<void>;
}

async function totalRecords(log: EventLog, topic: string): Promise<number> {
  const offsets = await log.offsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

export function startArrivalMonitor(options: {
  log: EventLog;
  venus: Venus;
  topics: { sessions: string; deadLetter: string };
  intervalMs?: number;
  print?: (line: string) => void;
}): ArrivalMonitor {
  const { log, venus, topics } = options;
  const intervalMs = options.intervalMs ?? 5000;
  const print = options.print ?? ((line: string) => console.log(line));
  let previous: { at: number; sessions: number; seen: string } | undefined;
  const tick = async (always = false) => {
    try {
      const [sessions, deadLetters] = await Promise.all([
        totalRecords(log, topics.sessions),
        totalRecords(log, topics.deadLetter),
      ]);
      const at = Date.now();
      const { stats } = venus;
      const rejected = stats.eventsRejected + stats.framesRejected;
      const seen = `${sessions} ${deadLetters} ${rejected} ${stats.authenticationsFailed} ${stats.internalErrors}`;
      const changed = !previous || previous.seen !== seen;
      const rate = previous ? ((sessions - previous.sessions) * 1000) / Math.max(1, at - previous.at) : 0;
      if (!changed && !always) return;
      previous = { at, sessions, seen };
      const time = new Date(at).toISOString().slice(11, 19);
      const count = (n: number) => n.toLocaleString("en-US");
      const extras = [
        stats.authenticationsFailed > 0 ? `${count(stats.authenticationsFailed)} failed authentications` : "",
        stats.internalErrors > 0 ? `${count(stats.internalErrors)} internal errors` : "",
        stats.v1EventsWithExtraFields > 0
          ? `${count(stats.v1EventsWithExtraFields)} v1 events with extra fields`
          : "",
      ].filter((part) => part !== "");
      print(
        `[${time}] ${topics.sessions}: ${count(sessions)} events (${rate.toFixed(0)}/s)` +
          ` · ${topics.deadLetter}: ${count(deadLetters)}` +
          ` · this run: ${count(stats.eventsAccepted)} accepted, ${count(rejected)} rejected, ` +
          `${stats.connectionsOpened} connections${extras.map((part) => `, ${part}`).join("")}`,
      );
    } catch (error) {
      const line = `cannot read the event log: ${(error as Error).message}`;
      if (options.print) options.print(`[monitor] ${line}`);
      else monitorLog.warn(line);
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  void tick();
  return {
    async stop() {
      clearInterval(timer);
      await tick(true);
    },
  };
}
