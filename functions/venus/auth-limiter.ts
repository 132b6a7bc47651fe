/**
 * Failed authentications per remote address, over a sliding minute. An address past the limit is refused
 * without its key being compared until its oldest failure of the minute ages out, so guessing keys costs a
 * minute per handful of tries. Failures are logged with the address, at most one line per address per
 * {@link LOG_EVERY_MS}, saying how many were not logged in between.
 */

const MINUTE_MS = 60_000;
const LOG_EVERY_MS = 10_000;
/** Addresses remembered at most; the one whose last failure is oldest is forgotten first. */
const MAX_ADDRESSES = 10_000;

interface AddressFailures {
  /** Times of the failures within the last minute, oldest first. */
  times: number[];
  lastLoggedAt: number;
  unlogged: number;
}

export interface AuthFailureLimiterOptions {
  /** Failures one address may have within a minute; 0 turns the limit off (failures are still logged). */
  perMinute: number;
  now: () => number;
  warn: (message: string) => void;
}

export class AuthFailureLimiter {
  readonly #options: AuthFailureLimiterOptions;
  /** In order of each address's latest failure (re-inserted on every failure), oldest first. */
  readonly #addresses = new Map<string, AddressFailures>();

  constructor(options: AuthFailureLimiterOptions) {
    this.#options = options;
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  blockedSeconds(address: string): number {
    const { perMinute, now } = this.#options;
    if (perMinute <= 0) return 0;
    const entry = this.#addresses.get(address);
    if (entry === undefined) return 0;
    const at = now();
    this.#prune(entry, at);
    if (entry.times.length < perMinute) return 0;
    const freeAt = entry.times[entry.times.length - perMinute]! + MINUTE_MS;
    return Math.max(1, Math.ceil((freeAt - at) / 1000));
  }

  /** Records one failure of `address` and logs it (rate-limited). */
  record(address: string, what: string): void {
    const at = this.#options.now();
    let entry = this.#addresses.get(address);
    if (entry === undefined) {
      entry = { times: [], lastLoggedAt: Number.NEGATIVE_INFINITY, unlogged: 0 };
    } else {
      this.#addresses.delete(address);
      this.#prune(entry, at);
    }
    this.#addresses.set(address, entry);
    // Kept short: past the limit, only the newest `perMinute` times decide when the address is free again.
    entry.times.push(at);
    if (entry.times.length > Math.max(1, this.#options.perMinute)) entry.times.shift();
    if (this.#addresses.size > MAX_ADDRESSES) {
      const oldest = this.#addresses.keys().next().value;
      if (oldest !== undefined) this.#addresses.delete(oldest);
    }
    if (at - entry.lastLoggedAt < LOG_EVERY_MS) {
      entry.unlogged += 1;
      return;
    }
    const more = entry.unlogged > 0 ? ` (${entry.unlogged} more from this address since the last line)` : "";
    this.#options.warn(
      `venus: authentication failed from ${address || "an unknown address"}: ${what}${more}`,
    );
    entry.lastLoggedAt = at;
    entry.unlogged = 0;
  }

  #prune(entry: AddressFailures, at: number): void {
    while (entry.times.length > 0 && entry.times[0]! <= at - MINUTE_MS) entry.times.shift();
  }
}
