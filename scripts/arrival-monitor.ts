import type { Venus } from "#functions/venus/ingest.ts";
import type { EventLog } from "#shared/log/types.ts";

/** The periodic line of what arrived: events in the topics, the rate since the last line, rejections. */

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
  let previous: { at: number; sessions: number } | undefined;
  const tick = async (always = false) => {
    try {
      const [sessions, deadLetters] = await Promise.all([
        totalRecords(log, topics.sessions),
        totalRecords(log, topics.deadLetter),
      ]);
      const at = Date.now();
      const rate = previous ? ((sessions - previous.sessions) * 1000) / Math.max(1, at - previous.at) : 0;
      const changed = !previous || previous.sessions !== sessions;
      previous = { at, sessions };
      if (!changed && !always) return;
      const time = new Date(at).toISOString().slice(11, 19);
      print(
        `[${time}] ${topics.sessions}: ${sessions.toLocaleString("en-US")} events (${rate.toFixed(0)}/s)` +
          ` · ${topics.deadLetter}: ${deadLetters.toLocaleString("en-US")}` +
          ` · this run: ${venus.stats.eventsAccepted.toLocaleString("en-US")} accepted, ` +
          `${venus.stats.eventsRejected + venus.stats.framesRejected} rejected, ${venus.stats.connectionsOpened} connections`,
      );
    } catch (error) {
      print(`[monitor] cannot read the event log: ${(error as Error).message}`);
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
