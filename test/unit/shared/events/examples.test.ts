import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type V2EventResult,
  type ValidationIssue,
  validateV1,
  validateV2,
  validateV2BatchFrame,
} from "#shared/events/index.ts";
import { example, exampleText } from "#test/helpers/examples.ts";

/** The examples in events/examples are what docs/events.md shows users; they must stay true. */

const NOW = new Date("2024-05-01T10:35:00Z");

const docs = () => readFileSync(new URL("../../../../docs/events.md", import.meta.url), "utf8");

interface RejectionCase {
  description: string;
  version: 1 | 2;
  event: unknown;
  issues: ValidationIssue[];
}

describe("event examples", () => {
  it("accepts the v1 example message", () => {
    // Act
    const result = validateV1(example("v1-message"), { now: NOW });

    // Assess
    expect(result.ok).toBe(true);
  });

  it.each(["v2-session-started", "v2-location-ping", "v2-status-changed"])(
    "accepts the %s example",
    (name) => {
      // Act
      const result = validateV2(example(name), { now: NOW });

      // Assess
      expect(result.ok).toBe(true);
    },
  );

  it("answers the example batch frame with the example ack", () => {
    // Prepare
    const frame = validateV2BatchFrame(example("v2-batch-frame"));
    if (!frame.ok) throw new Error(`example batch frame is invalid: ${JSON.stringify(frame.issues)}`);

    // Act
    const results: V2EventResult[] = frame.value.events.map((event) => {
      const verdict = validateV2(event, { now: NOW });
      return verdict.ok ? { ok: true } : { ok: false, errors: verdict.issues };
    });
    const ack = {
      type: "ack",
      batch_id: frame.value.batch_id,
      accepted: results.filter((result) => result.ok).length,
      rejected: results.filter((result) => !result.ok).length,
      results,
    };

    // Assess
    expect(ack).toEqual(example("v2-ack-frame"));
  });

  it("rejects each example rejection with exactly the documented issues", () => {
    // Prepare
    const { validated_at: validatedAt, cases } = example("rejections") as {
      validated_at: string;
      cases: RejectionCase[];
    };

    // Act
    const actual = cases.map((rejection) => {
      const options = { now: new Date(validatedAt) };
      const result =
        rejection.version === 1 ? validateV1(rejection.event, options) : validateV2(rejection.event, options);
      return result.ok ? [] : result.issues;
    });

    // Assess
    expect(actual).toEqual(cases.map((rejection) => rejection.issues));
  });

  it.each(["v1-message", "v2-session-started", "v2-location-ping", "v2-status-changed", "v2-ack-frame"])(
    "shows the %s example verbatim in docs/events.md",
    (name) => {
      // Act
      const text = docs();

      // Assess
      expect(text).toContain(exampleText(name).trim());
    },
  );

  it("shows every example rejection's issues in docs/events.md", () => {
    // Prepare
    const { cases } = example("rejections") as { cases: RejectionCase[] };

    // Act
    const text = docs();

    // Assess
    for (const rejection of cases) {
      for (const issue of rejection.issues) expect(text).toContain(issue.message);
    }
  });
});
