import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "#shared/config/index.ts";
import { ConfigError } from "#shared/errors.ts";
import { createKafkaLogCreator, kafkaLogLevelFor } from "#shared/event-log/kafka/logger.ts";
import { configureLogging, logger, loggerOr } from "#shared/logging/index.ts";
import { spawnProcess } from "#test/helpers/processes.ts";

/** Every component that logs; each must follow LOG_LEVEL. */
const COMPONENTS = [
  "venus",
  "jupiter",
  "neptune",
  "uranus",
  "compaction",
  "host",
  "runtime",
  "event-log",
  "health",
  "clickhouse",
  "kafkajs",
];

/** The lines `act` writes to standard output and standard error. */
function captureLines(act: () => void): { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout.push(String(chunk));
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
  try {
    act();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const lines = (chunks: string[]) =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line !== "");
  return { stdout: lines(stdout), stderr: lines(stderr) };
}

/** Runs `body` (ES module code) in a node process with the shared/logging module imported as `logging`. */
async function runScript(body: string, env: Record<string, string>) {
  const logging = pathToFileURL(path.resolve("shared/logging/index.ts")).href;
  const script = `import middy from "@middy/core";\nimport * as logging from ${JSON.stringify(logging)};\n${body}`;
  const child = spawnProcess("node", ["--import", "tsx", "--input-type=module", "-e", script], {
    AWS_LAMBDA_FUNCTION_NAME: "",
    IS_OFFLINE: "",
    ...env,
  });
  const code = await child.exited;
  return { code, output: child.output() };
}

/** A handler as deployed: middy with lambdaLogging(), logging a debug and an info line per invocation. */
const LAMBDA_HANDLER = `
  const jupiter = logging.logger("jupiter");
  const handler = middy(async () => {
    jupiter.debug("batch of 3 records");
    jupiter.info("silver batch written", { rows: 3 });
  }).use(logging.lambdaLogging());
  const context = (id) => ({
    awsRequestId: id,
    functionName: "packetpulse-dev-jupiter",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:packetpulse-dev-jupiter",
    memoryLimitInMB: "1024",
  });
  await handler({}, context("request-1"));
  await handler({}, context("request-2"));
`;

const ON_LAMBDA = {
  AWS_LAMBDA_FUNCTION_NAME: "packetpulse-dev-jupiter",
  AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
};

function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("logging", () => {
  afterEach(() => {
    configureLogging();
  });

  it("writes `<component>: <message>` lines in a terminal, warnings and errors on standard error", () => {
    // Prepare
    configureLogging({ env: { LOG_LEVEL: "info" } });

    // Act
    const lines = captureLines(() => {
      logger("runtime").info("jupiter ← sessions: lag 0, 12.5 records/s, 40 processed");
      logger("venus").warn("closing connection c-1 from 10.1.2.3: Replies not read for 3 s");
      logger("event-log").error("appending 1 record(s) failed", { partition: 2 });
      logger("uranus").child("gold").info("10/10 models, 1,204 rows in 0.52 s");
    });

    // Assess
    expect(lines.stdout).toEqual([
      "runtime: jupiter ← sessions: lag 0, 12.5 records/s, 40 processed",
      "uranus gold: 10/10 models, 1,204 rows in 0.52 s",
    ]);
    expect(lines.stderr).toEqual([
      "venus: closing connection c-1 from 10.1.2.3: Replies not read for 3 s",
      'event-log: appending 1 record(s) failed {"partition":2}',
    ]);
  });

  it("does not name a component twice when its line already starts with its name", () => {
    // Prepare
    configureLogging({ env: {} });

    // Act
    const lines = captureLines(() => {
      logger("venus").warn("venus: authentication failed from 10.1.2.3: wrong API key");
      logger("event-log").error("event log: appending 1 record(s) to log.sqlite failed: disk full");
      logger("uranus").child("gold").info("gold: 10/10 models, 0 rows in 0.10 s");
      logger("health").info("health: consumer:jupiter failing → ok (running)");
    });

    // Assess
    expect(lines.stderr).toEqual([
      "venus: authentication failed from 10.1.2.3: wrong API key",
      "event-log: appending 1 record(s) to log.sqlite failed: disk full",
    ]);
    expect(lines.stdout).toEqual([
      "uranus gold: 10/10 models, 0 rows in 0.10 s",
      "health: consumer:jupiter failing → ok (running)",
    ]);
  });

  it("hands every line, as it is, to a function a caller passes instead of the logger", () => {
    // Prepare
    configureLogging({ env: { LOG_LEVEL: "error" } });
    const said: string[] = [];

    // Act
    const lines = captureLines(() => {
      const log = loggerOr((line) => said.push(line), logger("uranus").child("gold"));
      log.info("gold: 10/10 models, 0 rows in 0.10 s");
      log.error("gold run failed: ClickHouse unreachable");
      loggerOr(undefined, logger("host")).error("neptune-compaction failed: disk full");
    });

    // Assess
    expect(said).toEqual(["gold: 10/10 models, 0 rows in 0.10 s", "gold run failed: ClickHouse unreachable"]);
    expect(lines.stdout).toEqual([]);
    expect(lines.stderr).toEqual(["host: neptune-compaction failed: disk full"]);
  });

  it("applies LOG_LEVEL to every component: debug lines appear at debug and disappear above it", () => {
    const writeAll = () => {
      for (const component of COMPONENTS) {
        const log = logger(component);
        log.debug("d");
        log.info("i");
        log.warn("w");
        log.error("e");
      }
    };
    const shown = (level: string) => {
      configureLogging({ env: { LOG_LEVEL: level } });
      const { stdout, stderr } = captureLines(writeAll);
      return [...stdout, ...stderr];
    };
    const every = (message: string) => COMPONENTS.map((component) => `${component}: ${message}`);

    // Act
    const atDebug = shown("debug");
    const atInfo = shown("info");
    const atWarn = shown("warn");
    const atError = shown("error");
    configureLogging({ env: {} });
    const byDefault = captureLines(writeAll);

    // Assess
    expect(atDebug).toEqual(
      expect.arrayContaining([...every("d"), ...every("i"), ...every("w"), ...every("e")]),
    );
    expect(atDebug).toHaveLength(COMPONENTS.length * 4);
    expect(atInfo.sort()).toEqual([...every("i"), ...every("w"), ...every("e")].sort());
    expect(atWarn.sort()).toEqual([...every("w"), ...every("e")].sort());
    expect(atError.sort()).toEqual(every("e").sort());
    expect([...byDefault.stdout, ...byDefault.stderr].sort()).toEqual(atInfo.sort());
  });

  it("lets kafkajs's own lines through the logger at debug only, its errors at every level", () => {
    // Prepare: what kafkajs hands its log creator for a debug line and for an error
    const entry = (level: number, message: string) => ({
      namespace: "Consumer",
      level,
      label: "",
      log: { timestamp: "", message, groupId: "jupiter" },
    });
    const kafkajsLines = (level: "debug" | "info" | "error") => {
      configureLogging({ env: { LOG_LEVEL: level } });
      const { logCreator } = createKafkaLogCreator(kafkaLogLevelFor(level));
      const write = logCreator(0);
      const { stdout, stderr } = captureLines(() => {
        write(entry(5, "Fetching from 1 partition"));
        write(entry(1, "Crash: KafkaJSNonRetriableError"));
      });
      return [...stdout, ...stderr];
    };

    // Act
    const atDebug = kafkajsLines("debug");
    const atInfo = kafkajsLines("info");
    const atError = kafkajsLines("error");

    // Assess
    expect(atDebug).toEqual([
      'kafkajs: Consumer: Fetching from 1 partition {"groupId":"jupiter"}',
      'kafkajs: Consumer: Crash: KafkaJSNonRetriableError {"groupId":"jupiter"}',
    ]);
    expect(atInfo).toEqual(['kafkajs: Consumer: Crash: KafkaJSNonRetriableError {"groupId":"jupiter"}']);
    expect(atError).toEqual(atInfo);
  });

  it("refuses an invalid LOG_LEVEL with the variable, the values allowed and the value given", () => {
    // Act
    const fromLogging = () => configureLogging({ env: { LOG_LEVEL: "verbose" } });
    const fromConfig = () => loadConfig({ LOG_LEVEL: "DEBUG" });

    // Assess
    expect(fromLogging).toThrow(ConfigError);
    expect(fromLogging).toThrow('LOG_LEVEL must be debug, info, warn or error (got "verbose")');
    expect(fromConfig).toThrow('LOG_LEVEL must be debug, info, warn or error (got "DEBUG")');
  });

  it("writes one JSON object per line on Lambda, with the request id, the cold start and the component", async () => {
    // Act
    const run = await runScript(LAMBDA_HANDLER, { ...ON_LAMBDA, LOG_LEVEL: "info" });

    // Assess: the first invocation is the cold start; each line carries its own request id
    expect(run.code, run.output).toBe(0);
    const lines = jsonLines(run.output);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: "INFO",
      message: "silver batch written",
      service: "packetpulse",
      component: "jupiter",
      rows: 3,
      cold_start: true,
      function_request_id: "request-1",
      function_name: "packetpulse-dev-jupiter",
    });
    expect(typeof lines[0]!.timestamp).toBe("string");
    expect(lines[1]).toMatchObject({
      cold_start: false,
      function_request_id: "request-2",
      component: "jupiter",
    });
  });

  it("shows debug lines on Lambda only at LOG_LEVEL=debug", async () => {
    // Act
    const atDebug = await runScript(LAMBDA_HANDLER, { ...ON_LAMBDA, LOG_LEVEL: "debug" });
    const atWarn = await runScript(LAMBDA_HANDLER, { ...ON_LAMBDA, LOG_LEVEL: "warn" });

    // Assess
    expect(jsonLines(atDebug.output).map((line) => `${line.level} ${line.message}`)).toEqual([
      "DEBUG batch of 3 records",
      "INFO silver batch written",
      "DEBUG batch of 3 records",
      "INFO silver batch written",
    ]);
    expect(atWarn.code, atWarn.output).toBe(0);
    expect(atWarn.output).toBe("");
  });

  it("writes readable lines under serverless offline, which sets AWS_LAMBDA_FUNCTION_NAME too", async () => {
    // Act
    const run = await runScript(LAMBDA_HANDLER, { ...ON_LAMBDA, IS_OFFLINE: "true", LOG_LEVEL: "info" });

    // Assess
    expect(run.output).toBe(
      'jupiter: silver batch written {"rows":3}\njupiter: silver batch written {"rows":3}\n',
    );
  });
});

describe("npm start with an invalid LOG_LEVEL", () => {
  it("stops before anything opens, naming the variable and the values allowed", async () => {
    // Act
    const run = spawnProcess("node", ["--import", "tsx", "host/start.ts"], {
      LOG_LEVEL: "verbose",
      PACKETPULSE_DATA_DIR: path.join("/nonexistent", "packetpulse-log-level"),
    });
    const code = await run.exited;

    // Assess
    expect(code).toBe(1);
    expect(run.output()).toContain("PacketPulse cannot start.");
    expect(run.output()).toContain('LOG_LEVEL must be debug, info, warn or error (got "verbose")');
    expect(run.output()).not.toContain("PacketPulse is running");
  });
});
