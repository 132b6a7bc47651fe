import { describe, expect, it } from "vitest";
import { API_GATEWAY_FRAME_LIMIT, v2Ack } from "#functions/venus/replies.ts";

describe("Venus v2 acknowledgements", () => {
  it("reports every error in full when the reply fits one API Gateway frame", () => {
    // Prepare
    const results = [
      { ok: true as const },
      {
        ok: false as const,
        errors: [{ field: "lat", rule: "range", message: "lat must be between -90 and 90 (got 91)" }],
      },
    ];

    // Act
    const reply = JSON.parse(v2Ack("b-1", results));

    // Assess
    expect(reply).toEqual({ type: "ack", batch_id: "b-1", accepted: 1, rejected: 1, results });
  });

  it("trims error details, never the per-event outcome, to stay under 32 KB for 500 bad events", () => {
    // Prepare
    const longIssue = {
      field: "reason",
      rule: "max_length",
      message: `reason is too long: ${"x".repeat(400)}`,
    };
    const results = Array.from({ length: 500 }, (_, i) =>
      i % 2 === 0 ? { ok: true as const } : { ok: false as const, errors: [longIssue, longIssue, longIssue] },
    );

    // Act
    const text = v2Ack("big", results);
    const reply = JSON.parse(text);

    // Assess
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(API_GATEWAY_FRAME_LIMIT);
    expect(reply).toMatchObject({ accepted: 250, rejected: 250, truncated: true });
    expect(reply.results).toHaveLength(500);
    expect(reply.results.map((r: { ok: boolean }) => r.ok)).toEqual(results.map((r) => r.ok));
    expect(reply.results[1].errors[0]).toMatchObject({ field: "reason", rule: "max_length" });
  });
});
