import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { EventLogError } from "#shared/errors.ts";

export type LogFileCheck =
  | { outcome: "ok"; ms: number }
  | { outcome: "new" }
  | { outcome: "timed-out"; ms: number };

/** SQLite's quick_check, run in a worker thread so the time it may take is bounded. */
const CHECK_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
try {
  const db = new Database(workerData.file, { fileMustExist: true });
  try {
    const rows = db.pragma("quick_check(20)", { simple: false }).map((row) => Object.values(row)[0]);
    parentPort.postMessage({ problems: rows.filter((row) => row !== "ok") });
  } finally {
    db.close();
  }
} catch (error) {
  parentPort.postMessage({ problems: [String(error && error.message ? error.message : error)] });
}
`;

/**
 * Checks the event log file before it is opened: SQLite's `PRAGMA quick_check` (page structure, record
 * format, index consistency) within `timeoutMs`. A damaged file throws an EventLogError that says what was
 * found and what to do; a check that takes longer than the bound is abandoned (`timed-out`) and the log
 * opens, so a very large file never holds start-up hostage.
 */
export async function checkLogFile(file: string, timeoutMs: number): Promise<LogFileCheck> {
  if (!existsSync(file) || statSync(file).size === 0) return { outcome: "new" };
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const began = performance.now();
  const worker = new Worker(CHECK_SOURCE, { eval: true, workerData: { file, driver } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      new Promise<{ problems: string[] }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      }),
      new Promise<"timed-out">((resolve) => {
        timer = setTimeout(() => resolve("timed-out"), timeoutMs);
      }),
    ]);
    const ms = Math.round(performance.now() - began);
    if (answer === "timed-out") return { outcome: "timed-out", ms };
    if (answer.problems.length > 0) throw damaged(file, answer.problems);
    return { outcome: "ok", ms };
  } finally {
    clearTimeout(timer);
    // A check still running is left to finish in the background; it never keeps the process alive.
    worker.unref();
    void worker.terminate().catch(() => {});
  }
}

function damaged(file: string, problems: string[]): EventLogError {
  const found = problems.slice(0, 5).join("; ");
  return new EventLogError(
    [
      `The event log file ${file} is damaged (SQLite quick_check: ${found}).`,
      "PacketPulse does not start on a damaged log, so nothing more is lost. What to do:",
      "  1. stop every PacketPulse process using this data folder and keep a copy of the file (and its -wal file);",
      "  2. restore the file from a backup, or recover what is readable:",
      `       sqlite3 '${file}' '.recover' | sqlite3 '${file}.recovered' && mv '${file}.recovered' '${file}'`,
      "     (then remove the old -wal and -shm files next to it);",
      "  3. or move the file away to start with an empty log: events not yet in silver and bronze are lost.",
      'See docs/operations.md ("A damaged event log").',
    ].join("\n"),
  );
}
