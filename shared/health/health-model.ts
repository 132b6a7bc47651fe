import type {
  ComponentHealth,
  HealthChange,
  HealthCheck,
  HealthCheckResult,
  HealthStatus,
  PlatformHealth,
} from "./types.ts";

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failing: 2 };

export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = "ok";
  for (const status of statuses) if (RANK[status] > RANK[worst]) worst = status;
  return worst;
}

export interface HealthModelOptions {
  /** A check that has not answered within this time counts as failing (default 5 000 ms). */
  checkTimeoutMs?: number;
  clock?: () => number;
}

/**
 * Runs the platform's health checks, remembers since when each component has been in its status, and tells
 * listeners when one changes. A check that throws or does not answer in time is `failing`.
 */
export class HealthModel {
  private readonly checks: HealthCheck[] = [];
  private readonly known = new Map<string, ComponentHealth>();
  private readonly listeners: ((change: HealthChange) => void)[] = [];
  private readonly timeoutMs: number;
  private readonly clock: () => number;
  private inFlight: Promise<PlatformHealth> | undefined;

  constructor(checks: HealthCheck[] = [], options: HealthModelOptions = {}) {
    this.timeoutMs = options.checkTimeoutMs ?? 5_000;
    this.clock = options.clock ?? Date.now;
    for (const check of checks) this.add(check);
  }

  add(check: HealthCheck): void {
    this.checks.push(check);
  }

  onChange(listener: (change: HealthChange) => void): void {
    this.listeners.push(listener);
  }

  /** Runs every check now (concurrent callers share one round). */
  check(): Promise<PlatformHealth> {
    this.inFlight ??= this.round().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Checks every `intervalMs` so state changes are noticed (and announced) without anyone asking. */
  watch(intervalMs: number): { stop(): void } {
    const timer = setInterval(() => void this.check().catch(() => {}), intervalMs);
    timer.unref();
    void this.check().catch(() => {});
    return { stop: () => clearInterval(timer) };
  }

  private async round(): Promise<PlatformHealth> {
    const results = await Promise.all(this.checks.map((check) => this.run(check)));
    const now = new Date(this.clock()).toISOString();
    const components: ComponentHealth[] = [];
    const changes: HealthChange[] = [];
    for (const [i, result] of results.entries()) {
      const component = this.checks[i]!.component;
      const before = this.known.get(component);
      const since = before && before.status === result.status ? before.since : now;
      const current: ComponentHealth = { component, since, ...result };
      this.known.set(component, current);
      components.push(current);
      if (before?.status !== result.status) changes.push({ component: current, previous: before?.status });
    }
    for (const change of changes) for (const listener of this.listeners) listener(change);
    return { status: worstStatus(components.map((c) => c.status)), checkedAt: now, components };
  }

  private async run(check: HealthCheck): Promise<HealthCheckResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        check.check(),
        new Promise<HealthCheckResult>((resolve) => {
          timer = setTimeout(
            () => resolve({ status: "failing", reason: `no answer within ${this.timeoutMs} ms` }),
            this.timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      return {
        status: "failing",
        reason: "the health check itself failed",
        detail: error instanceof Error ? error.message : String(error),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The report as an unauthenticated caller may see it: without `detail` (paths, addresses, cluster ids). */
export function publicHealth(health: PlatformHealth): PlatformHealth {
  return {
    ...health,
    components: health.components.map(({ detail: _detail, ...component }) => component),
  };
}

/** One console line for a change of state, for `npm start`. */
export function describeChange({ component, previous }: HealthChange): string {
  const from = previous ?? "unknown";
  return `health: ${component.component} ${from} → ${component.status} (${component.reason})`;
}
