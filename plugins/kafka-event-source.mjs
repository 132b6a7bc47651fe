/**
 * Runs the `msk` and `kafka` events of serverless.yml under `serverless offline`, which ignores them:
 * on `offline:start:init` it starts PacketPulse's event-source runtime (shared/runtime/) over the event log
 * the provider environment configures, with the framework's fully resolved service and the built handlers
 * from dist/ (run `npm run build` first; `npm run offline` does). It stops on `offline:start:end`. The
 * `schedule` events run through the same local scheduler as `npm start` (host/schedules.ts), which honours
 * PACKETPULSE_SCHEDULE_SCALE; serverless-offline's own scheduler is left without events.
 *
 * It also teaches the framework's schema the event source mapping settings Lambda has for Kafka but osls
 * does not know (partial batch responses, retries, record age, bisect, a Kafka on-failure destination),
 * so serverless.yml can declare them without validation warnings, and writes them into
 * the `AWS::Lambda::EventSourceMapping` resources osls compiles (`serverless package` / `deploy`). Lambda
 * accepts Kafka error handling only in provisioned mode, so a mapping that uses any of it gets a
 * `ProvisionedPollerConfig` (the event's `provisionedPollerConfig`, or Lambda's defaults 1 and 200).
 * See docs/event-source-runtime.md.
 *
 * With PACKETPULSE_OFFLINE_FUNCTIONS (a comma-separated list of function names), the service is narrowed to
 * those functions before serverless-offline reads it, so one container runs one function of the stack
 * (docker-compose.yml: venus, jupiter, neptune, uranus, compaction each in its own service).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";

const kafkaMappingProperties = {
  functionResponseTypes: { type: "array", items: { enum: ["ReportBatchItemFailures"] } },
  maximumRetryAttempts: { type: "integer", minimum: -1, maximum: 10000 },
  maximumRecordAgeInSeconds: { type: "integer", minimum: -1, maximum: 604800 },
  bisectBatchOnFunctionError: { type: "boolean" },
  destinationConfig: {
    type: "object",
    properties: {
      onFailure: {
        type: "object",
        properties: { destination: { type: "string", pattern: "^kafka://[a-zA-Z0-9._-]{1,249}$" } },
        required: ["destination"],
        additionalProperties: false,
      },
    },
    required: ["onFailure"],
    additionalProperties: false,
  },
};

/** Lambda's defaults for provisioned pollers (kafka-scaling-modes: provisioned mode). */
const DEFAULT_POLLERS = { MinimumPollers: 1, MaximumPollers: 200 };

/**
 * The CloudFormation properties for the settings of one msk/kafka event that osls leaves out of the
 * compiled event source mapping; an empty object when the event uses none of them.
 */
export function errorHandlingProperties(event) {
  const properties = {};
  if (event.functionResponseTypes) properties.FunctionResponseTypes = event.functionResponseTypes;
  if (event.maximumRetryAttempts !== undefined) properties.MaximumRetryAttempts = event.maximumRetryAttempts;
  if (event.maximumRecordAgeInSeconds !== undefined) {
    properties.MaximumRecordAgeInSeconds = event.maximumRecordAgeInSeconds;
  }
  if (event.bisectBatchOnFunctionError !== undefined) {
    properties.BisectBatchOnFunctionError = event.bisectBatchOnFunctionError;
  }
  if (event.destinationConfig?.onFailure?.destination) {
    properties.DestinationConfig = {
      OnFailure: { Destination: event.destinationConfig.onFailure.destination },
    };
  }
  // osls compiles provisionedPollerConfig itself; Lambda's defaults are filled in when the event has none.
  if (Object.keys(properties).length > 0 && !event.provisionedPollerConfig) {
    properties.ProvisionedPollerConfig = { ...DEFAULT_POLLERS };
  }
  return properties;
}

export default class KafkaEventSourcePlugin {
  constructor(serverless, _cliOptions, utils) {
    this.serverless = serverless;
    this.logger = utils?.log;
    for (const event of ["msk", "kafka"]) {
      serverless.configSchemaHandler.defineFunctionEventProperties("aws", event, {
        properties: kafkaMappingProperties,
      });
    }
    // `serverless offline start` runs the init/end lifecycle; plain `serverless offline` runs only
    // `offline:start` (listed before serverless-offline, this plugin's hook runs first) and exits on a
    // signal without an end hook: uncommitted records are then delivered again at the next start.
    this.hooks = {
      "after:package:compileEvents": () => this.compileErrorHandling(),
      "offline:start": () => this.start(),
      "offline:start:init": () => this.start(),
      "offline:start:end": () => this.stop(),
    };
  }

  /** Adds each msk/kafka event's error-handling settings to the event source mapping osls compiled for it. */
  compileErrorHandling() {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate?.Resources ?? {};
    const naming = this.serverless.getProvider("aws").naming;
    for (const [functionName, fn] of Object.entries(this.serverless.service.functions ?? {})) {
      const lambdaLogicalId = naming.getLambdaLogicalId(functionName);
      for (const entry of fn.events ?? []) {
        const event = entry?.msk ?? entry?.kafka;
        if (!event) continue;
        const properties = errorHandlingProperties(event);
        if (Object.keys(properties).length === 0) continue;
        const mapping = Object.entries(resources).find(
          ([, resource]) =>
            resource.Type === "AWS::Lambda::EventSourceMapping" &&
            resource.Properties?.FunctionName?.["Fn::GetAtt"]?.[0] === lambdaLogicalId &&
            (resource.Properties?.Topics ?? []).includes(event.topic),
        );
        if (!mapping) {
          throw new Error(
            `No compiled event source mapping for ${functionName}'s ${entry.msk ? "msk" : "kafka"} event on ${event.topic}`,
          );
        }
        Object.assign(mapping[1].Properties, properties);
      }
    }
  }

  say(line, part = "event-sources") {
    if (this.logger) this.logger.notice(`[${part}] ${line}`);
    else console.log(`[${part}] ${line}`);
  }

  /** Keeps only the functions PACKETPULSE_OFFLINE_FUNCTIONS names; an unknown name stops start-up. */
  narrowFunctions() {
    const only = process.env.PACKETPULSE_OFFLINE_FUNCTIONS?.trim();
    if (!only) return;
    const functions = this.serverless.service.functions ?? {};
    const wanted = only
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    const unknown = wanted.filter((name) => !(name in functions));
    if (unknown.length > 0) {
      throw new Error(
        `PACKETPULSE_OFFLINE_FUNCTIONS names ${unknown.join(", ")}, which serverless.yml does not define (functions: ${Object.keys(functions).join(", ")})`,
      );
    }
    for (const name of Object.keys(functions)) {
      if (!wanted.includes(name)) delete functions[name];
    }
    this.say(`running ${wanted.join(", ")} only (PACKETPULSE_OFFLINE_FUNCTIONS)`);
  }

  /**
   * Takes the `schedule` events out of the service serverless-offline reads, so they run through the
   * project's one local scheduler (host/schedules.ts), as under `npm start`: serverless-offline's own
   * cron cannot run faster than once a minute, and PACKETPULSE_SCHEDULE_SCALE must shorten every schedule.
   * Returns the functions that had one.
   */
  takeOverSchedules() {
    const scheduled = {};
    for (const [name, fn] of Object.entries(this.serverless.service.functions ?? {})) {
      const events = fn.events ?? [];
      if (!events.some((event) => event && "schedule" in event)) continue;
      scheduled[name] = { ...fn, events: [...events] };
      fn.events = events.filter((event) => !(event && "schedule" in event));
    }
    return scheduled;
  }

  async start() {
    if (this.started) return;
    this.started = true;
    this.narrowFunctions();
    const root = this.serverless.serviceDir ?? process.cwd();
    const service = this.serverless.service;
    const scheduled = this.takeOverSchedules();
    const hasKafkaEvents = Object.values(service.functions ?? {}).some((fn) =>
      (fn.events ?? []).some((event) => event && ("msk" in event || "kafka" in event)),
    );
    // Without Kafka triggers or schedules there is nothing to run, and no reason to open the event log here.
    if (!hasKafkaEvents && Object.keys(scheduled).length === 0) return;
    // Handlers run in this process and read their configuration from process.env, as on Lambda.
    const environments = [
      service.provider.environment,
      ...Object.values(scheduled).map((fn) => fn.environment),
    ];
    for (const environment of environments) {
      for (const [name, value] of Object.entries(environment ?? {})) {
        if (process.env[name] === undefined && value !== undefined && value !== null)
          process.env[name] = String(value);
      }
    }
    // The runtime is TypeScript; tsx (a dev dependency, like serverless itself) loads it.
    const { tsImport } = await import("tsx/esm/api");
    const parent = pathToFileURL(path.join(root, "serverless.yml")).href;
    if (Object.keys(scheduled).length > 0) {
      const { describePeriod, startSchedules } = await tsImport("./host/schedules.ts", parent);
      this.schedules = await startSchedules({
        serverlessConfig: { service: service.service, provider: service.provider, functions: scheduled },
        handlerSource: "dist",
        root,
        say: (line) => this.say(line, "schedules"),
      });
      for (const fn of this.schedules.functions) {
        this.say(`Scheduling [${fn.name}] every ${describePeriod(fn, this.schedules.scale)}`, "schedules");
      }
    }
    if (!hasKafkaEvents) return;
    const { loadConfig } = await tsImport("./shared/config/index.ts", parent);
    const { openEventLog } = await tsImport("./shared/event-log/index.ts", parent);
    const { startEventSources } = await tsImport("./shared/runtime/index.ts", parent);
    const config = loadConfig(process.env);
    this.log = await openEventLog(config);
    this.runtime = await startEventSources({
      config,
      log: this.log,
      serverlessConfig: {
        service: service.service,
        provider: service.provider,
        functions: service.functions,
      },
      handlerSource: "dist",
      root,
      say: (line) => this.say(line),
    });
  }

  async stop() {
    await this.schedules?.stop();
    await this.runtime?.stop();
    await this.log?.close();
  }
}
