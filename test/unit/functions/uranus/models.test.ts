import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  loadModels,
  ModelDefinitionError,
  orderModels,
  parseModel,
  parseScheduleEvent,
  ScheduleEventError,
} from "#functions/uranus/index.ts";
import { loadServerlessFile } from "#shared/runtime/index.ts";
import { scheduleExpressionOf, scheduleRateMs } from "#shared/runtime/schedule.ts";
import { handlerEntryPoints } from "../../../../scripts/build.ts";

const ROOT = path.resolve(import.meta.dirname, "../../../..");

const model = (name: string, header: string, sql = "SELECT 1 AS x") =>
  parseModel(
    `/models/${name}.sql`,
    `-- model: ${name}\n${header}\n--\n-- prose: not part of the header\n${sql}\n`,
  );

describe("gold model files", () => {
  it("reads the header, the SELECT and the query parameters it uses", () => {
    // Act
    const parsed = model(
      "session_summary",
      "-- depends:\n-- strategy: incremental\n-- unique_key: session_id\n-- order_by: session_id",
      "WITH s AS (SELECT 1) SELECT {as_of:DateTime64(3, 'UTC')} AS a, {scope:String} AS b, {as_of:DateTime64(3, 'UTC')} AS c;",
    );

    // Assess
    expect(parsed).toMatchObject({
      name: "session_summary",
      dependsOn: [],
      strategy: "incremental",
      uniqueKey: ["session_id"],
      orderBy: ["session_id"],
      parameters: ["as_of", "scope"],
    });
    expect(parsed.sql.startsWith("WITH s AS")).toBe(true);
    expect(parsed.sql.endsWith(";")).toBe(false);
  });

  it("refuses malformed headers with the file and what to write", () => {
    // Act / Assess
    expect(() => parseModel("/m/a.sql", "SELECT 1")).toThrow(
      /a\.sql: the header needs "-- model: <table_name>"/,
    );
    expect(() => model("b", "-- strategy: rebuild\n-- order_by: x").name).not.toThrow();
    expect(() =>
      parseModel("/m/c.sql", "-- model: d\n-- strategy: rebuild\n-- order_by: x\nSELECT 1"),
    ).toThrow(/model "d" must live in d\.sql/);
    expect(() => model("e", "-- strategy: sometimes\n-- order_by: x")).toThrow(
      /must be rebuild or incremental/,
    );
    expect(() => model("f", "-- strategy: incremental\n-- order_by: x")).toThrow(
      /needs "-- unique_key: <columns>"/,
    );
    expect(() => model("g", "-- strategy: rebuild")).toThrow(/needs "-- order_by: <columns>"/);
    expect(() => model("h", "-- strategy: rebuild\n-- order_by: x", "DROP TABLE sessions")).toThrow(
      ModelDefinitionError,
    );
  });

  it("orders models after their dependencies and names unknown dependencies and cycles", () => {
    // Prepare
    const a = model("a", "-- depends: b, c\n-- strategy: rebuild\n-- order_by: x");
    const b = model("b", "-- depends: c\n-- strategy: rebuild\n-- order_by: x");
    const c = model("c", "-- strategy: rebuild\n-- order_by: x");
    const loop = model("c", "-- depends: a\n-- strategy: rebuild\n-- order_by: x");

    // Act / Assess
    expect(orderModels([a, b, c]).map((m) => m.name)).toEqual(["c", "b", "a"]);
    expect(() => orderModels([a, c])).toThrow("Model a depends on b, which is not a model");
    expect(() => orderModels([a, b, loop])).toThrow("Models depend on each other in a cycle: a → b → c → a");
  });

  it("declares, in every model of functions/uranus/models, each gold table its SQL reads", async () => {
    // Act
    const models = await loadModels();
    const names = models.map((m) => m.name);

    // Assess
    expect(names[0]).toBe("session_summary");
    expect(names).toHaveLength(10);
    for (const m of models) {
      const reads = names.filter((other) => other !== m.name && new RegExp(`\\b${other}\\b`).test(m.sql));
      expect({ model: m.name, depends: [...m.dependsOn].sort() }).toEqual({
        model: m.name,
        depends: reads.sort(),
      });
    }
  });
});

describe("schedule", () => {
  it("wires uranus in serverless.yml: handler, rate(1 minute), models packaged, built by scripts/build.ts", () => {
    // Act
    const service = loadServerlessFile(path.join(ROOT, "serverless.yml"), { env: {} });
    const uranus = service.functions?.uranus as { handler?: string; package?: { patterns?: string[] } };

    // Assess
    expect(uranus.handler).toBe("dist/functions/uranus/handler.handler");
    expect(scheduleExpressionOf(service, "uranus")).toBe("rate(1 minute)");
    expect(uranus.package?.patterns).toContain("dist/functions/uranus/models/**");
    expect(handlerEntryPoints).toContain("functions/uranus/handler.ts");
    expect(readFileSync(path.join(ROOT, "scripts/build.ts"), "utf8")).toContain('"functions/uranus/models"');
  });

  it("turns rate expressions into milliseconds and refuses the rest", () => {
    // Act / Assess
    expect(scheduleRateMs("rate(1 minute)")).toBe(60_000);
    expect(scheduleRateMs("rate(5 minutes)")).toBe(300_000);
    expect(scheduleRateMs("rate(2 hours)")).toBe(7_200_000);
    expect(scheduleRateMs("rate(1 day)")).toBe(86_400_000);
    expect(() => scheduleRateMs("cron(0 * * * ? *)")).toThrow(ScheduleEventError);
    expect(() => scheduleRateMs("rate(0 minutes)")).toThrow(/not a rate expression/);
  });

  it("reads the as-of time from an EventBridge schedule event, or now without one", () => {
    // Prepare
    const now = new Date("2026-11-29T10:00:00Z");

    // Act / Assess
    expect(
      parseScheduleEvent({ "detail-type": "Scheduled Event", time: "2024-05-06T13:15:00Z" }, now),
    ).toEqual({
      asOf: new Date("2024-05-06T13:15:00Z"),
      mode: "scheduled",
    });
    expect(parseScheduleEvent(undefined, now)).toEqual({ asOf: now, mode: "scheduled" });
    expect(parseScheduleEvent({ mode: "full" }, now)).toEqual({ asOf: now, mode: "full" });
    expect(() => parseScheduleEvent({ time: 42 }, now)).toThrow("Not a schedule event: time");
  });

  it("answers any input with a schedule or a ScheduleEventError, never another error", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          const schedule = parseScheduleEvent(input, new Date(0));
          expect(Number.isNaN(schedule.asOf.getTime())).toBe(false);
        } catch (error) {
          expect(error).toBeInstanceOf(ScheduleEventError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
