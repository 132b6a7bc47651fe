import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** scripts/kafka.sh, which starts, stops and restarts the local test broker (see its header). */
export const kafkaScript = fileURLToPath(new URL("../../scripts/kafka.sh", import.meta.url));

/**
 * Brokers from KAFKA_BOOTSTRAP_SERVERS, or undefined when it is not set. Tests that need Kafka use
 * `describe.skipIf(!kafkaBrokers())`; CI always sets it (and starts the broker with scripts/kafka.sh).
 */
export function kafkaBrokers(): string[] | undefined {
  const value = process.env.KAFKA_BOOTSTRAP_SERVERS?.trim();
  if (!value) return undefined;
  const brokers = value
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  return brokers.length > 0 ? brokers : undefined;
}

/** Runs `bash scripts/kafka.sh <command>` with this process's environment; rejects with its output. */
export function runKafkaScript(command: string, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [kafkaScript, command],
      { env: process.env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`bash scripts/kafka.sh ${command} failed: ${error.message}\n${stdout}${stderr}`));
        } else {
          resolve(`${stdout}${stderr}`);
        }
      },
    );
  });
}

/** Stops the local broker cleanly (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT). Its data is kept. */
export async function stopKafkaBroker(): Promise<void> {
  await runKafkaScript("stop");
}

/** Starts the local broker on its existing storage and waits until it answers metadata requests. */
export async function startKafkaBroker(): Promise<void> {
  await runKafkaScript("start");
}

/** Stops and starts the local broker; topics, records and committed offsets survive. */
export async function restartKafkaBroker(): Promise<void> {
  await runKafkaScript("restart");
}

/** Kills the local broker with SIGKILL, as a crash would; `startKafkaBroker()` brings it back. */
export async function killKafkaBroker(): Promise<void> {
  await runKafkaScript("kill");
}

export interface KafkaBrokerPaths {
  bootstrapServers: string;
  version: string;
  dataDir: string;
  logFile: string;
  pidFile: string;
  libsDir: string;
}

/** Where scripts/kafka.sh keeps the local broker's data, log and pid file (from `kafka.sh env`). */
export async function kafkaBrokerPaths(): Promise<KafkaBrokerPaths> {
  const output = await runKafkaScript("env");
  const values = new Map(
    [...output.matchAll(/^export (\w+)='([^']*)'$/gm)].map((match) => [match[1]!, match[2]!] as const),
  );
  const get = (name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`scripts/kafka.sh env did not print ${name}`);
    return value;
  };
  return {
    bootstrapServers: get("KAFKA_BOOTSTRAP_SERVERS"),
    version: get("KAFKA_VERSION"),
    dataDir: get("KAFKA_DATA_DIR"),
    logFile: get("KAFKA_LOG_FILE"),
    pidFile: get("KAFKA_PID_FILE"),
    libsDir: get("KAFKA_LIBS_DIR"),
  };
}
