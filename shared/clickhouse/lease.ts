import { randomUUID } from "node:crypto";
import os from "node:os";
import type { ClickHouseClient } from "@clickhouse/client";
import { backoffDelay } from "#shared/platform/backoff.ts";
import { sleep } from "#shared/platform/sleep.ts";
import { ClickHouseStoreError } from "./errors.ts";

/**
 * A lease held in ClickHouse itself, so processes that share nothing but the store (compose replicas,
 * Lambda containers) take turns: the silver and gold migrations, and Uranus's gold runs.
 *
 * ClickHouse has no compare-and-set on rows, but `CREATE TABLE` of a name that exists fails
 * (TABLE_ALREADY_EXISTS) and one server serialises DDL on one name: whoever creates `packetpulse_lease_<name>`
 * holds the lease. The table's comment says who and until when; the holder renews it every third of the TTL
 * and drops the table to release it. A lease whose holder died expires: the next taker renames the table
 * away (only one RENAME of a name can succeed) and creates it again.
 * See docs/decisions/023-scaling-on-one-clickhouse.md.
 */

export interface LeaseOptions {
  /** How long a lease lasts without renewal (default 60 s); renewed every third of it while held. */
  ttlMs?: number;
  /** Who holds it, for the messages of those who wait (default host:pid:random). */
  holder?: string;
}

export interface AcquireOptions extends LeaseOptions {
  /** How long to wait for a held lease before failing (default 10 minutes). */
  waitMs?: number;
  /** Called once when the lease is held by someone else and this process starts waiting. */
  onWait?: (holder: string) => void;
}

export interface Lease {
  readonly name: string;
  readonly holder: string;
  /** True once a renewal found the lease taken over (it had expired): stop the guarded work. */
  readonly lost: boolean;
  release(): Promise<void>;
}

/** Waiting for a lease took longer than `waitMs`. */
export class LeaseTimeoutError extends ClickHouseStoreError {
  constructor(message: string) {
    super(message);
    this.name = "LeaseTimeoutError";
  }
}

const LEASE_NAME = /^[a-z0-9_]{1,64}$/;
const DEFAULT_TTL_MS = 60_000;
const DEFAULT_WAIT_MS = 600_000;

interface LeaseComment {
  holder: string;
  expiresAt: number;
}

const tableOf = (name: string) => `packetpulse_lease_${name}`;
const sqlString = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
const commentOf = (holder: string, ttlMs: number) =>
  sqlString(JSON.stringify({ holder, expiresAt: Date.now() + ttlMs } satisfies LeaseComment));

/** ClickHouse's error code (57, 60, ...) of a server error, or its message names the error. */
function isClickHouseError(error: unknown, code: string, type: string, message: RegExp): boolean {
  // A server's error carries `code` and `type`; embedded chDB's carries `clickhouseCode`.
  const given = (error ?? {}) as { code?: unknown; type?: unknown; clickhouseCode?: unknown };
  return (
    given.code === code ||
    String(given.clickhouseCode) === code ||
    given.type === type ||
    message.test((error as Error)?.message ?? "")
  );
}

const isAlreadyExists = (error: unknown) =>
  isClickHouseError(error, "57", "TABLE_ALREADY_EXISTS", /TABLE_ALREADY_EXISTS|already exists/i);
const isUnknownTable = (error: unknown) =>
  isClickHouseError(error, "60", "UNKNOWN_TABLE", /UNKNOWN_TABLE|does not exist|doesn't exist/i);

async function readLease(client: ClickHouseClient, table: string): Promise<LeaseComment | undefined> {
  const result = await client.query({
    query: "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = {table:String}",
    query_params: { table },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ comment: string }>();
  if (rows.length === 0) return undefined;
  try {
    const parsed = JSON.parse(rows[0]!.comment) as Partial<LeaseComment>;
    return { holder: String(parsed.holder ?? "unknown"), expiresAt: Number(parsed.expiresAt ?? 0) };
  } catch {
    // A table of this name not made by a lease: treat it as expired, so it is moved out of the way.
    return { holder: "unknown", expiresAt: 0 };
  }
}

/** Creates the lease's table; false when another process created it first. */
async function createLease(
  client: ClickHouseClient,
  table: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  try {
    await client.command({
      query: `CREATE TABLE ${table} (held UInt8) ENGINE = Memory COMMENT ${commentOf(holder, ttlMs)}`,
    });
    return true;
  } catch (error) {
    if (isAlreadyExists(error)) return false;
    throw new ClickHouseStoreError(`Cannot take lease ${table}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Takes the lease `name` if it is free (or expired); `undefined` when another holder has it. */
export async function tryAcquireLease(
  client: ClickHouseClient,
  name: string,
  options: LeaseOptions = {},
): Promise<Lease | undefined> {
  if (!LEASE_NAME.test(name)) {
    throw new ClickHouseStoreError(`Lease name ${JSON.stringify(name)} must be 1-64 of a-z, 0-9, _`);
  }
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const holder = options.holder ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const table = tableOf(name);
  for (let attempt = 0; attempt < 3; attempt++) {
    // A held lease is seen without trying to create it (clients log a failed CREATE as an error).
    const current = await readLease(client, table);
    if (!current) {
      if (await createLease(client, table, holder, ttlMs))
        return holdLease(client, name, table, holder, ttlMs);
      continue;
    }
    if (current.expiresAt > Date.now()) return undefined;
    // Expired (its holder stopped renewing): move it away, then try to create it again. Of several
    // processes that find it expired, one RENAME succeeds; the others see an unknown table.
    const expired = `${table}_expired_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    try {
      await client.command({ query: `RENAME TABLE ${table} TO ${expired}` });
      await client.command({ query: `DROP TABLE IF EXISTS ${expired} SYNC` });
    } catch (error) {
      if (!isUnknownTable(error)) throw error;
    }
  }
  return undefined;
}

/** Polls for a held lease every 100 ms at first, doubling up to every 2 s. */
const LEASE_POLL = { initialMs: 100, maxMs: 2_000 };

/** Takes the lease `name`, waiting (polling) while another holder has it. */
export async function acquireLease(
  client: ClickHouseClient,
  name: string,
  options: AcquireOptions = {},
): Promise<Lease> {
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  let polls = 0;
  let told = false;
  for (;;) {
    const lease = await tryAcquireLease(client, name, options);
    if (lease) return lease;
    const current = await readLease(client, tableOf(name));
    if (!told && current) {
      options.onWait?.(current.holder);
      told = true;
    }
    if (Date.now() >= deadline) {
      throw new LeaseTimeoutError(
        `Lease ${name} is still held by ${current?.holder ?? "another process"} after ${options.waitMs ?? DEFAULT_WAIT_MS} ms; if that process is gone, the lease expires by itself (drop table ${tableOf(name)} to end it now)`,
      );
    }
    await sleep(backoffDelay(++polls, LEASE_POLL));
  }
}

/** Runs `work` while holding the lease `name`, and releases it afterwards. */
export async function withLease<T>(
  client: ClickHouseClient,
  name: string,
  work: (lease: Lease) => Promise<T>,
  options: AcquireOptions = {},
): Promise<T> {
  const lease = await acquireLease(client, name, options);
  try {
    return await work(lease);
  } finally {
    await lease.release();
  }
}

function holdLease(
  client: ClickHouseClient,
  name: string,
  table: string,
  holder: string,
  ttlMs: number,
): Lease {
  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    const current = await readLease(client, table);
    if (current?.holder !== holder) {
      lost = true;
      return;
    }
    await client.command({ query: `ALTER TABLE ${table} MODIFY COMMENT ${commentOf(holder, ttlMs)}` });
  };
  const timer = setInterval(
    () => {
      renewing = renewing.then(renew).catch(() => {
        // A failed renewal is retried at the next tick; the lease lasts a whole TTL meanwhile.
      });
    },
    Math.max(ttlMs / 3, 10),
  );
  timer.unref();
  return {
    name,
    holder,
    get lost() {
      return lost;
    },
    async release() {
      clearInterval(timer);
      await renewing;
      const current = await readLease(client, table).catch(() => undefined);
      if (current?.holder !== holder) return;
      await client.command({ query: `DROP TABLE IF EXISTS ${table} SYNC` }).catch(() => {
        // Not dropped: the lease expires after its TTL instead.
      });
    },
  };
}
