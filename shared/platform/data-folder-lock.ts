import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { PacketPulseError } from "#shared/errors.ts";

/**
 * One process owns a data folder: embedded ClickHouse binds its folder to one process, and two writers of
 * the same gold tables would undo each other's swaps. The owner holds `<data folder>/packetpulse.lock`, a
 * file naming its pid (and, on Linux, the pid's start time, so a pid reused after a crash does not look
 * like the owner). A lock left by a killed process is taken over.
 */

export const LOCK_FILE = "packetpulse.lock";

export class DataFolderLockedError extends PacketPulseError {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
    holderCommand: string,
  ) {
    super(
      `The data folder ${dataDir} is in use by process ${holderPid}${holderCommand ? ` (${holderCommand})` : ""}.\n` +
        "One process at a time owns a data folder. Stop that process first, or give this one another folder " +
        "with PACKETPULSE_DATA_DIR. Tools that need the store while the platform runs go through the running " +
        "platform (docs/operations.md).",
    );
    this.name = "DataFolderLockedError";
  }
}

interface LockContent {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), where /proc exists. */
  startTicks?: string;
  command: string;
  since: string;
}

export interface DataFolderLock {
  readonly file: string;
  release(): void;
}

function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function isAlive(content: LockContent): boolean {
  try {
    process.kill(content.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const ticks = processStartTicks(content.pid);
  return content.startTicks === undefined || ticks === undefined || ticks === content.startTicks;
}

function readLock(file: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LockContent>;
    return typeof parsed.pid === "number" && Number.isInteger(parsed.pid)
      ? {
          pid: parsed.pid,
          startTicks: parsed.startTicks,
          command: parsed.command ?? "",
          since: parsed.since ?? "",
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of the live process that holds the data folder, or undefined when no live process does. */
export function dataFolderLockHolder(dataDir: string): number | undefined {
  const content = readLock(path.join(path.resolve(dataDir), LOCK_FILE));
  return content && content.pid !== process.pid && isAlive(content) ? content.pid : undefined;
}

/**
 * Takes the data folder for this process, or throws DataFolderLockedError naming the folder and the process
 * that holds it. The lock goes when the process exits (or on `release()`); one left by a killed process is
 * taken over.
 */
export function lockDataFolder(dataDir: string, command: string): DataFolderLock {
  const folder = path.resolve(dataDir);
  const file = path.join(folder, LOCK_FILE);
  mkdirSync(folder, { recursive: true });
  const content: LockContent = {
    pid: process.pid,
    startTicks: processStartTicks(process.pid),
    command,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      // `wx`: created only if absent, atomically, so two processes starting together cannot both win.
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, `${JSON.stringify(content)}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 5) throw error;
      const holder = readLock(file);
      if (holder && holder.pid !== process.pid && isAlive(holder)) {
        throw new DataFolderLockedError(folder, holder.pid, holder.command);
      }
      if (holder === undefined && attempt < 2) {
        // Another process may be between creating the file and writing its pid: look again shortly.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
      // A lock left by a process that is gone (killed, crashed): take it over.
      rmSync(file, { force: true });
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    if (readLock(file)?.pid === process.pid) rmSync(file, { force: true });
  };
  process.on("exit", release);
  return { file, release };
}
