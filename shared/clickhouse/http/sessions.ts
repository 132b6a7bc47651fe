import type { Session } from "chdb";

/**
 * chDB sessions of the HTTP interface, apart from the platform's own connections. A chDB session runs one
 * statement at a time and keeps what a statement SETs, so a request holds a session for itself and every
 * setting it changed is put back before the next request gets it: no request sees another's settings.
 */
export class StoreSession {
  /** Database selected by USE; undefined when unknown (after a failed request). */
  database: string | undefined;

  constructor(
    readonly session: Session,
    /** Settings every request starts from (server defaults that differ in chDB, a reader's limits). */
    readonly baseline: Readonly<Record<string, string | number>>,
  ) {}
}

export class SessionPool {
  private readonly idle: StoreSession[];
  private readonly waiting: ((session: StoreSession) => void)[] = [];

  constructor(readonly sessions: readonly StoreSession[]) {
    this.idle = [...sessions];
  }

  async acquire(): Promise<StoreSession> {
    const session = this.idle.pop();
    if (session) return session;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(session: StoreSession): void {
    const next = this.waiting.shift();
    if (next) next(session);
    else this.idle.push(session);
  }

  close(): void {
    for (const { session } of this.sessions) session.close();
  }
}

/** A setting value as SQL: numbers bare, anything else a quoted string (ClickHouse parses either). */
export function settingLiteral(value: string | number): string {
  if (typeof value === "number" || /^-?\d+(?:\.\d+)?$/.test(value)) return String(value);
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Opens `count` sessions on the store folder, each with its baseline settings SET once. */
export async function openSessions(
  path: string,
  count: number,
  baseline: Record<string, string | number>,
  finalStatements: string[] = [],
): Promise<StoreSession[]> {
  const { Session } = await import("chdb");
  const sessions: StoreSession[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const session = new StoreSession(new Session(path), baseline);
      sessions.push(session);
      const assignments = Object.entries(baseline).map(
        ([name, value]) => `${name} = ${settingLiteral(value)}`,
      );
      if (assignments.length > 0) await session.session.queryAsync(`SET ${assignments.join(", ")}`);
      for (const statement of finalStatements) await session.session.queryAsync(statement);
    }
  } catch (error) {
    for (const { session } of sessions) session.close();
    throw error;
  }
  return sessions;
}
