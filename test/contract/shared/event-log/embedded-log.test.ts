import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { openSqliteEventLog } from "#shared/event-log/sqlite/index.ts";
import { describeEventLogContract } from "./event-log.contract.ts";

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "packetpulse-contract-"));
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describeEventLogContract(
  "embedded SQLite",
  async () => {
    const log = await openSqliteEventLog({ file: path.join(dataDir, "events.db"), retentionHours: 168 });
    return { log, cleanup: () => log.close() };
  },
  { deliveryTimeoutMs: 5_000 },
);
