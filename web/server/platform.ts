import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import path from "node:path";
import type { ClickHouseHttpServer } from "../../shared/clickhouse/http/index.ts";
import type { PacketPulseConfig } from "../../shared/config/index.ts";
import type { EventLog } from "../../shared/event-log/types.ts";
import { type MercuryServer, startMercury, WEB_DIR } from "./index.ts";
import type { ConsumerGroup } from "./pipeline.ts";

/**
 * Mercury inside `npm start`: it reads the store through the platform's ClickHouse interface as the
 * read-only reader (or the configured ClickHouse server), follows the event log for the live map, and
 * reads the consumers' lag. Off with MERCURY_PORT=off. The dashboard is not on the ingestion path: when it
 * cannot start (port taken, say), the platform says why and runs on without it.
 */
export async function serveMercury(options: {
  config: PacketPulseConfig;
  sql: ClickHouseHttpServer | undefined;
  log: EventLog;
  groups: readonly ConsumerGroup[];
}): Promise<{ close(): Promise<void> } | undefined> {
  if (process.env.MERCURY_PORT === "off") return undefined;
  const { config, sql } = options;
  const clickhouse =
    config.clickhouse.backend === "server"
      ? { ...config.clickhouse }
      : sql
        ? {
            url: sql.url,
            username: config.clickhouseHttp.reader.name,
            password: config.clickhouseHttp.reader.password,
            database: config.clickhouse.database,
          }
        : undefined;
  if (!clickhouse) {
    console.log(
      "  Mercury not served: it reads the store through the ClickHouse HTTP interface (CLICKHOUSE_HTTP_PORT)",
    );
    return undefined;
  }
  let mercury: MercuryServer | undefined;
  let stopped = false;
  const start = async () => {
    const lines: string[] = [];
    try {
      mercury = await startMercury({
        clickhouse,
        platform: { log: options.log, topics: options.config.topics, groups: options.groups },
        print: (line) => lines.push(line),
      });
      if (stopped) return void (await mercury.close());
      console.log(
        `  Mercury ${mercury.url}   dashboard (sign in as admin@example.com / password in development)`,
      );
      for (const line of lines) console.log(line);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const hint = code === "EADDRINUSE" ? " (set MERCURY_PORT to a free port, or off)" : "";
      console.log(`  Mercury not served: ${(error as Error).message}${hint}`);
    }
  };
  if (existsSync(path.join(WEB_DIR, "build", "server", "index.js"))) {
    await start();
  } else {
    // First start of a fresh clone: build the app (about 20 s) without holding the platform up.
    console.log("  Mercury is being built (npm run web:build, first start only); its address follows");
    void buildWeb().then(
      () => (stopped ? undefined : start()),
      (error: Error) => console.log(`  Mercury not served: ${error.message}`),
    );
  }
  return {
    async close() {
      stopped = true;
      await mercury?.close();
    },
  };
}

/** `remix vite:build web`, once at a time (a lock file beside the build). */
function buildWeb(): Promise<void> {
  const lock = path.join(WEB_DIR, ".build.lock");
  let fd: number;
  try {
    fd = openSync(lock, "wx");
  } catch {
    return Promise.reject(
      new Error(`another build of the dashboard is running (${lock}); start again when it ends`),
    );
  }
  const cli = path.join(WEB_DIR, "..", "node_modules", "@remix-run", "dev", "dist", "cli.js");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "vite:build", WEB_DIR], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let errors = "";
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString("utf8")));
    child.on("exit", (status) => {
      closeSync(fd);
      rmSync(lock, { force: true });
      if (status === 0) resolve();
      else
        reject(
          new Error(`the dashboard's build failed (npm run web:build to see why): ${errors.slice(-500)}`),
        );
    });
  });
}
