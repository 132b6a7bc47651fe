import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNeptune, openBronzeStore } from "#functions/neptune/index.ts";
import type { BronzeStore } from "#functions/neptune/store.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import type { EventLog } from "#shared/event-log/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { eventLogDeadLetterSink } from "#shared/lambda/index.ts";
import { buildKafkaEvent, loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import { replayNdjson } from "#shared/runtime/replay.ts";
import { chdbQuery, icebirdRead, pyicebergReadMetadata } from "#test/helpers/neptune-readers.ts";
import { lineEventTime, spreadLines } from "#test/helpers/neptune-stream.ts";
import { headerText, readTopic } from "#test/helpers/platform.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * Neptune on the embedded default, end to end: records on the sessions topic go through the event-source
 * runtime into the bronze Iceberg table in a data folder outside the repository, and three independent
 * readers (pyiceberg, ClickHouse's icebergLocal through chDB, icebird) find every accepted event exactly
 * once, typed and partitioned by day; rejected records are on the dead letter topic with the reason.
 */

const BATCH_SIZE = 100;

describe("Neptune writes the sessions topic into the bronze Iceberg table", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-neptune-"));
  const env = {
    PACKETPULSE_DATA_DIR: dataDir,
    PACKETPULSE_EVENT_LOG: "embedded",
    KAFKA_BOOTSTRAP_SERVERS: "",
  };
  let config: PacketPulseConfig;
  let log: EventLog;
  let store: BronzeStore;
  const lines = spreadLines();
  const badRecords: { key: string; value: string; headers: Record<string, string> }[] = [
    { key: "k1", value: "{not json", headers: { schema_version: "2" } },
    {
      key: "k2",
      value: JSON.stringify({ ...JSON.parse(lines[1]!), lat: "north" }),
      headers: { schema_version: "2", event_id: String(JSON.parse(lines[1]!).event_id) },
    },
  ];

  beforeAll(async () => {
    config = loadConfig(env);
    log = await openEventLog(config);
    await replayNdjson(log, config.topics.sessions, lines, { partitions: config.topics.partitions });
    await log.append(
      config.topics.sessions,
      badRecords.map((r) => ({ ...r, timestamp: Date.now() })),
    );
    store = await openBronzeStore(config.bronze);
  });

  afterAll(async () => {
    await store?.close();
    await log?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every accepted event once, typed, one file per day and batch, readable by pyiceberg, chDB and icebird", async () => {
    // Prepare: Neptune's msk event from serverless.yml with small batches, so the stream needs many commits.
    const service = loadServerlessFile("serverless.yml");
    for (const event of (service.functions?.neptune?.events ?? []) as { msk?: Record<string, unknown> }[]) {
      if (event.msk) Object.assign(event.msk, { batchSize: BATCH_SIZE, maximumBatchingWindow: 0 });
    }
    let invocations = 0;
    const neptune = createNeptune({
      table: store.table,
      deadLetter: eventLogDeadLetterSink(log, config.topics.deadLetter, "neptune"),
    });

    // Act: run the event source until the group has no lag.
    const runtime = await startEventSources({
      config,
      log,
      serverlessConfig: service,
      functions: ["neptune"],
      handlers: {
        neptune: async (event, context) => {
          invocations++;
          return neptune(event, context);
        },
      },
      statsIntervalMs: 0,
      say: () => {},
    });
    const total = lines.length + badRecords.length;
    await waitUntil(
      async () => {
        const stats = (await runtime.stats()).eventSources[0]!;
        return stats.lag === 0 && stats.recordsProcessed >= total;
      },
      "every record processed",
      60_000,
      { pollMs: 100 },
    );
    const stats = (await runtime.stats()).eventSources[0]!;
    await runtime.stop();
    await store.table.refresh();

    // Assess: the runtime delivered everything without failures, in many invocations.
    expect(stats).toMatchObject({ lag: 0, failedInvocations: 0, recordsSentToDestination: 0 });
    expect(invocations).toBeGreaterThanOrEqual(Math.ceil(total / BATCH_SIZE));

    // Assess: pyiceberg reads every accepted event once, with its Kafka coordinates and typed times.
    const columns = [
      "event_id",
      "event_type",
      "schema_version",
      "event_time",
      "kafka_partition",
      "kafka_offset",
      "payload",
      "occurred_at",
      "timestamp",
      "lat",
    ];
    const read = await pyicebergReadMetadata(store.table.metadataLocation, columns);
    expect(read.spec).toContain("day(");
    expect(read.schema).toEqual(
      expect.arrayContaining(["4:event_time:timestamptz:required", "1:event_id:string:required"]),
    );
    expect(read.schema.some((f) => /:occurred_at:timestamptz:optional$/.test(f))).toBe(true);
    expect(read.rows).toHaveLength(lines.length);
    const coordinates = new Set(read.rows.map((r) => `${r.kafka_partition}@${r.kafka_offset}`));
    expect(coordinates.size).toBe(lines.length);
    expect(new Set(read.rows.map((r) => r.payload))).toEqual(new Set(lines));
    for (const row of read.rows) {
      expect(Date.parse(String(row.event_time))).toBe(lineEventTime(String(row.payload)));
    }
    expect(
      read.rows
        .filter((r) => r.schema_version === 1)
        .every((r) => r.event_type === "v1_message" && r.timestamp !== null),
    ).toBe(true);
    expect(
      read.rows.filter((r) => r.event_type === "location_ping").every((r) => typeof r.lat === "number"),
    ).toBe(true);

    // Assess: files are partitioned by event day, never one per record.
    const days = new Set(lines.map((l) => new Date(lineEventTime(l)).toISOString().slice(0, 10)));
    const dataFolders = readdirSync(path.join(store.table.location, "data"));
    expect(new Set(dataFolders)).toEqual(new Set([...days].map((d) => `event_time_day=${d}`)));
    const live = await store.table.liveDataFiles();
    expect(read.files).toBe(live.length);
    expect(live.length).toBeLessThanOrEqual(invocations * days.size);
    expect(live.length).toBeLessThan(lines.length / 10);

    // Assess: ClickHouse (chDB, started in the data folder outside the repository) reads the same rows per day.
    const perDay = await chdbQuery<{ day: string; n: string; ids: string }>(
      `SELECT toString(toDate(event_time)) AS day, count() AS n, uniqExact(event_id) AS ids FROM icebergLocal('${store.table.location}') GROUP BY day ORDER BY day`,
      dataDir,
    );
    const expectedPerDay = [...days].sort().map((day) => {
      const n = lines.filter((l) => new Date(lineEventTime(l)).toISOString().startsWith(day)).length;
      return { day, n: String(n) };
    });
    expect(perDay.map(({ day, n }) => ({ day, n: String(n) }))).toEqual(expectedPerDay);

    // Assess: icebird, an independent JavaScript reader, sees the same rows.
    const icebird = await icebirdRead(store.table.location);
    expect(icebird).toHaveLength(lines.length);
    expect(new Set(icebird.map((r) => `${r.kafka_partition}@${r.kafka_offset}`))).toEqual(coordinates);

    // Assess: both bad records are dead letters with the reason, and no row.
    const deadLetters = await readTopic(log, config.topics.deadLetter);
    expect(deadLetters).toHaveLength(2);
    expect(deadLetters.map((r) => headerText(r, "error_rule")).sort()).toEqual(["invalid", "type"]);
    expect(deadLetters.every((r) => headerText(r, "rejected_by") === "neptune")).toBe(true);
  }, 180_000);

  it("npm run bronze:sql answers SQL over the table from a data folder outside the repository", async () => {
    // Act
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          "--import",
          "tsx",
          "cli/bronze-sql.ts",
          "SELECT count() AS n, uniqExact(event_id) AS ids FROM {bronze}",
          "--format",
          "JSONEachRow",
        ],
        { env: { ...process.env, ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );

    // Assess
    expect(path.relative(process.cwd(), dataDir).startsWith("..")).toBe(true);
    expect(JSON.parse(output)).toEqual({ n: lines.length, ids: lines.length });
  }, 120_000);

  it("a batch delivered again adds no row and no snapshot", async () => {
    // Prepare: the first records of partition 0 as Lambda would deliver them again.
    await store.table.refresh();
    const before = store.table.snapshot()!["snapshot-id"];
    const records = (await readTopic(log, config.topics.sessions))
      .filter((r) => r.partition === 0)
      .slice(0, 50);
    const service = loadServerlessFile("serverless.yml");
    const { eventSourceSpecs } = await import("#shared/runtime/index.ts");
    const spec = eventSourceSpecs(service, {}).find((s) => s.functionName === "neptune")!;
    const neptune = createNeptune({ table: store.table, deadLetter: async () => {} });

    // Act
    await neptune(buildKafkaEvent(spec, records), {} as Context);
    await store.table.refresh();

    // Assess
    expect(store.table.snapshot()!["snapshot-id"]).toBe(before);
    const read = await pyicebergReadMetadata(store.table.metadataLocation, ["kafka_offset"]);
    expect(read.rows).toHaveLength(lines.length);
  }, 120_000);
});
