// CPU time of Venus's core per event (validation + append to the embedded log), in this process.
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Venus } from "#functions/venus/ingest.ts";
import { SqliteConnectionStore } from "#functions/venus/connection-store.ts";
import { openSqliteEventLog } from "#shared/log/sqlite/index.ts";
import { v1Message, v2Ping } from "/work/main/test/helpers/platform.ts";
const dir = mkdtempSync(path.join(os.tmpdir(), "venus-cpu-"));
const log = await openSqliteEventLog({ file: path.join(dir, "log.sqlite"), retentionHours: 1, partitionsDefault: 3 });
await log.ensureTopics([{ topic: "sessions", partitions: 3 }, { topic: "sessions-dlq", partitions: 3 }]);
const connections = await SqliteConnectionStore.open(path.join(dir, "c.sqlite"));
const venus = new Venus({ log, connections, apiKey: "k".repeat(12), topics: { sessions: "sessions", deadLetter: "sessions-dlq" } });
await venus.connect({ connectionId: "v2", headers: { "x-api-key": "k".repeat(12) } });
await venus.connect({ connectionId: "v1" });
await venus.receive("v1", JSON.stringify({ type: "authentication", api_key: "k".repeat(12) }));
const batches = Array.from({ length: 50 }, (_, b) => JSON.stringify({ type: "events", batch_id: `b${b}`, events: Array.from({ length: 100 }, () => v2Ping()) }));
const v1 = Array.from({ length: 2000 }, () => JSON.stringify(v1Message()));
async function round(kind: string) {
  const t = process.cpuUsage();
  if (kind === "v2") for (let r = 0; r < 8; r++) await Promise.all(batches.map((f) => venus.receive("v2", f)));
  else for (let r = 0; r < 8; r++) await Promise.all(v1.map((f) => venus.receive("v1", f)));
  const u = process.cpuUsage(t);
  return (u.user + u.system) / (kind === "v2" ? 8 * 5000 : 8 * 2000);
}
await round("v2"); await round("v1");
const v2s: number[] = [], v1s: number[] = [];
for (let i = 0; i < 5; i++) { v2s.push(await round("v2")); v1s.push(await round("v1")); }
const med = (a: number[]) => a.sort((x, y) => x - y)[2]!.toFixed(2);
console.log(`v2 ${med(v2s)} µs/event, v1 ${med(v1s)} µs/event`);
await log.close();
