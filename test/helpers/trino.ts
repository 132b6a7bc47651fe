/**
 * A minimal client of Trino's HTTP protocol for tests (POST /v1/statement, then GET each nextUri until the
 * query is done), so the bronze tests read through Trino exactly as a SQL client does, with no driver
 * package in between. Session time zone is UTC so timestamps print the same on every machine.
 */

export interface TrinoColumn {
  name: string;
  type: string;
}

export interface TrinoResult {
  columns: TrinoColumn[];
  rows: Record<string, unknown>[];
  /** The query's final statistics: `processedRows` is what the connector read after pruning. */
  stats: { state: string; processedRows: number; processedBytes: number; totalSplits: number };
}

interface TrinoResponse {
  id: string;
  nextUri?: string;
  columns?: TrinoColumn[];
  data?: unknown[][];
  stats: TrinoResult["stats"];
  error?: { message: string; errorName: string; errorType: string };
}

export async function trinoQuery(
  baseUrl: string,
  sql: string,
  options: { user?: string; timeoutMs?: number } = {},
): Promise<TrinoResult> {
  const headers = { "X-Trino-User": options.user ?? "packetpulse-test", "X-Trino-Time-Zone": "UTC" };
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const post = await fetch(`${baseUrl}/v1/statement`, { method: "POST", headers, body: sql });
  if (!post.ok) throw new Error(`Trino refused the statement (HTTP ${post.status}): ${await post.text()}`);
  let page = (await post.json()) as TrinoResponse;
  let columns: TrinoColumn[] = [];
  const data: unknown[][] = [];
  for (;;) {
    if (page.error) throw new Error(`Trino ${page.error.errorName}: ${page.error.message}\n  in: ${sql}`);
    if (page.columns) columns = page.columns;
    if (page.data) data.push(...page.data);
    if (!page.nextUri) break;
    if (Date.now() > deadline) throw new Error(`Trino query ${page.id} did not finish in time: ${sql}`);
    const next = await fetch(page.nextUri, { headers });
    // 503 asks the client to retry the same URI (the protocol's back-pressure).
    if (next.status === 503) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (!next.ok) throw new Error(`Trino query ${page.id}: HTTP ${next.status} ${await next.text()}`);
    page = (await next.json()) as TrinoResponse;
  }
  const rows = data.map((values) => Object.fromEntries(columns.map((c, i) => [c.name, values[i]])));
  return { columns, rows, stats: page.stats };
}

/** Milliseconds since the epoch of a `timestamp(p) with time zone` value as Trino prints it in UTC. */
export function trinoTimestampMs(value: unknown): number {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? UTC$/.exec(String(value));
  if (!match) throw new Error(`not a UTC timestamp with time zone: ${String(value)}`);
  const fraction = (match[3] ?? ".0").slice(1).padEnd(3, "0").slice(0, 3);
  return Date.parse(`${match[1]}T${match[2]}.${fraction}Z`);
}
