import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  V1_FIELDS,
  VALIDATION_RULES,
  type Validation,
  validateV1,
  validateV2,
  validateV2BatchFrame,
} from "#shared/events/index.ts";
import { example } from "#test/helpers/examples.ts";

const NOW = new Date("2024-05-01T10:35:00Z");
const KNOWN_RULES = new Set<string>(VALIDATION_RULES);

/** ok with a value, or not ok with at least one well-formed issue whose rule is documented. */
function isWellFormed(result: Validation<unknown>): boolean {
  if (result.ok) return result.value !== undefined;
  return (
    result.issues.length > 0 &&
    result.issues.every(
      (issue) =>
        typeof issue.field === "string" &&
        KNOWN_RULES.has(issue.rule) &&
        typeof issue.message === "string" &&
        issue.message.length > 0,
    )
  );
}

const v1Event = example("v1-message");

const v2Fields = [
  "event_id",
  "event_type",
  "schema_version",
  "occurred_at",
  "status",
  "reason",
  "lat",
  "lon",
  "speed_kmh",
  "promised_at",
  "vehicle_type",
];

const v2Event = {
  event_id: "2b267831-ced2-4c62-8aa5-335f448db839",
  event_type: "status_changed",
  schema_version: 2,
  occurred_at: "2024-05-01T10:44:02Z",
  device_id: "934b40e5-89b9-4513-b11a-4d4eb90c8a2a",
  vehicle_id: "f9200263-bc90-40fd-adb3-e8915f47dc48",
  session_id: "a3e2bbc6-61a2-4ca5-9639-3323bbbd5f04",
  order_id: "e60ae3f4-4206-4bc6-b0f4-675a2c7e6e92",
  status: "failed",
  reason: "Customer not reachable",
};

describe("validation of arbitrary input", () => {
  it("never throws and always returns ok or at least one documented issue, for any JSON value", () => {
    // Prepare
    const anyJson = fc.jsonValue();

    // Act + Assess
    fc.assert(
      fc.property(anyJson, (input) => {
        expect(isWellFormed(validateV1(input, { now: NOW }))).toBe(true);
        expect(isWellFormed(validateV2(input, { now: NOW }))).toBe(true);
        expect(isWellFormed(validateV2BatchFrame(input))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws when one field of a valid event holds any JSON value", () => {
    // Prepare
    const mutatedV1 = fc
      .record({ field: fc.constantFrom(...V1_FIELDS, "extra"), value: fc.jsonValue() })
      .map(({ field, value }) => ({ ...v1Event, [field]: value }));
    const mutatedV2 = fc
      .record({ field: fc.constantFrom(...v2Fields), value: fc.jsonValue() })
      .map(({ field, value }) => ({ ...v2Event, [field]: value }));

    // Act + Assess
    fc.assert(
      fc.property(mutatedV1, mutatedV2, (v1, v2) => {
        expect(isWellFormed(validateV1(v1, { now: NOW }))).toBe(true);
        expect(isWellFormed(validateV2(v2, { now: NOW }))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
