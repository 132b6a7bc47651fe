/**
 * One health model for the whole platform (docs/operations.md): every component reports `ok`, `degraded`
 * (working, but something needs a look) or `failing` (not doing its job), with a reason and since when.
 */

export type HealthStatus = "ok" | "degraded" | "failing";

/** What one check found. */
export interface HealthCheckResult {
  status: HealthStatus;
  /**
   * Why, in words safe to show anyone: no file paths, broker addresses or cluster ids (those go in
   * `detail`, shown only to callers that present the API key).
   */
  reason: string;
  /** The same with the specifics an operator needs (paths, addresses, the underlying error). */
  detail?: string;
  /** Figures worth showing next to the status (lag, last commit time, …); no paths or addresses. */
  facts?: Record<string, string | number | boolean | null>;
}

/** A named check the health model runs. */
export interface HealthCheck {
  /** Stable name: `event-log`, `consumer:jupiter`, `clickhouse`, `bronze-catalog`, `uranus`, … */
  component: string;
  check(): Promise<HealthCheckResult>;
}

export interface ComponentHealth extends HealthCheckResult {
  component: string;
  /** When the component entered its current status (ISO time). */
  since: string;
}

export interface PlatformHealth {
  /** The worst status of any component. */
  status: HealthStatus;
  checkedAt: string;
  components: ComponentHealth[];
}

export interface HealthChange {
  component: ComponentHealth;
  /** The status before (undefined at the first check). */
  previous: HealthStatus | undefined;
}
