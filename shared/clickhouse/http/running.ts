import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ClickHouseConfig, PacketPulseConfig } from "#shared/config/index.ts";

/**
 * How a tool finds the platform that owns the embedded store (chDB lets one process hold a data folder):
 * the running platform writes its interface's address in the data folder, and the interface's /ping names
 * the store it serves, so a tool never takes another platform's interface (one on the same port, a stale
 * file) for its own.
 */

export const ADDRESS_FILE = "clickhouse-http.json";

interface AddressFile {
  url: string;
  pid: number;
  store: string;
}

export function writeAddressFile(dataDir: string, address: AddressFile): void {
  writeFileSync(path.join(dataDir, ADDRESS_FILE), `${JSON.stringify(address, null, 2)}\n`);
}

/** Removes the file if it is still this process's (a newer platform may have replaced it). */
export function removeAddressFile(dataDir: string): void {
  const file = path.join(dataDir, ADDRESS_FILE);
  try {
    const address = JSON.parse(readFileSync(file, "utf8")) as AddressFile;
    if (address.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // No file, or not ours to remove.
  }
}

/** True when `url` is an interface serving the store at `store`. */
async function serves(url: string, store: string): Promise<boolean> {
  try {
    const response = await fetch(new URL("/ping", url), { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok && response.headers.get("x-packetpulse-store") === store;
  } catch {
    return false;
  }
}

/**
 * The URL of the running platform's interface over this configuration's embedded store, or undefined when
 * no platform runs on it: from the address file first, else from the configured port.
 */
export async function findRunningStore(config: PacketPulseConfig): Promise<string | undefined> {
  if (config.clickhouse.backend !== "embedded") return undefined;
  const store = config.clickhouse.path;
  try {
    const address = JSON.parse(readFileSync(path.join(config.dataDir, ADDRESS_FILE), "utf8")) as AddressFile;
    if (isAlive(address.pid) && (await serves(address.url, store))) return address.url;
  } catch {
    // No file, or a damaged one: try the port.
  }
  const { host, port, enabled } = config.clickhouseHttp;
  if (!enabled || port === 0) return undefined;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  return (await serves(url, store)) ? url : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The store a tool (`npm run sql`, `npm run uranus`, `npm run replay`) should use: the running platform's
 * interface as the writer when a platform owns the embedded store, else the configuration as it is.
 */
export async function clickhouseForTools(
  config: PacketPulseConfig,
): Promise<{ clickhouse: ClickHouseConfig; via?: string }> {
  const url = await findRunningStore(config);
  if (url === undefined) return { clickhouse: config.clickhouse };
  return {
    clickhouse: {
      backend: "server",
      url,
      username: config.clickhouseHttp.writer.name,
      password: config.clickhouseHttp.writer.password,
      database: config.clickhouse.database,
    },
    via: url,
  };
}
