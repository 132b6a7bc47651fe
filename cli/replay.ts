import path from "node:path";
import { parseArgs } from "node:util";
import type { Context } from "aws-lambda";
import { clickhouseForTools } from "#shared/clickhouse/http/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { PacketPulseError } from "#shared/errors.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { loadHandler, loadServerlessFile } from "#shared/runtime/index.ts";
import { readFixture, replayNdjson } from "#shared/runtime/replay.ts";

const usage = `Usage: npm run replay -- <fixture> [--function NAME] [--dist] [--config FILE] [--topic NAME]

  <fixture>        an AWS-shaped Kafka event (JSON, see events/kafka/) or an NDJSON event stream
                   (see events/fixtures/)
  --function NAME  for a Kafka event: the function of serverless.yml to invoke with it
  --dist           load the built bundle from dist/ instead of the TypeScript source
  --config FILE    the serverless configuration naming the function (default serverless.yml)
  --topic NAME     for NDJSON: the topic to append to (default KAFKA_TOPIC, "sessions")

A Kafka event is passed to the handler once and its result is printed. NDJSON lines are appended to the
sessions topic of the configured event log (embedded, or Kafka with KAFKA_BOOTSTRAP_SERVERS), keyed by
device_id with the headers Venus writes, so every consumer sees them.`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      function: { type: "string" },
      topic: { type: "string" },
      config: { type: "string", default: "serverless.yml" },
      dist: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const file = positionals[0];
  if (values.help || !file) {
    console.log(usage);
    process.exitCode = file ? 0 : 2;
    return;
  }
  const fixture = readFixture(path.resolve(file));
  if (fixture.kind === "kafka-event") {
    if (!values.function)
      throw new PacketPulseError(`${file} is a Kafka event: name the function with --function`);
    const service = loadServerlessFile(values.config);
    const handlerPath = service.functions?.[values.function]?.handler;
    if (!handlerPath) throw new PacketPulseError(`${values.config} has no function "${values.function}"`);
    // A running platform owns the embedded store: the function reaches it through its HTTP interface.
    const store = await clickhouseForTools(loadConfig());
    if (store.clickhouse.backend === "server" && store.via) {
      process.env.CLICKHOUSE_URL = store.clickhouse.url;
      process.env.CLICKHOUSE_USER = store.clickhouse.username;
      process.env.CLICKHOUSE_PASSWORD = store.clickhouse.password;
      console.error(`replay: through the running platform's ClickHouse HTTP interface at ${store.via}`);
    }
    const handler = await loadHandler(handlerPath, { source: values.dist ? "dist" : "source" });
    const context = {
      functionName: values.function,
      awsRequestId: "replay",
      getRemainingTimeInMillis: () => 29_000,
    } as Context;
    const result = await handler(fixture.event, context);
    // A handler keeps what it opened for the container's life (its store client, worker threads), as Lambda
    // reuses it: this one invocation is the process's last, so it ends once the answer is written.
    process.stdout.write(`${JSON.stringify(result ?? null, null, 2)}\n`, () => process.exit(0));
    return;
  }
  const config = loadConfig();
  const log = await openEventLog(config);
  try {
    const topic = values.topic ?? config.topics.sessions;
    const count = await replayNdjson(log, topic, fixture.lines, {
      partitions: config.topics.partitions,
      progress: (done, total) => process.stderr.write(`\rappended ${done}/${total}`),
    });
    process.stderr.write("\n");
    console.log(`Appended ${count} records from ${file} to ${topic} (${config.eventLog.backend} event log)`);
  } finally {
    await log.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof PacketPulseError ? error.message : error);
  process.exitCode = 1;
});
