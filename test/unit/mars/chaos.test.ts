import { beforeAll, describe, expect, it } from "vitest";
import { type ChaosOptions, type WireUnit, withChaos } from "#mars/chaos.ts";
import { MAX_FRAME_BYTES, V2Batcher } from "#mars/frames.ts";
import { Random } from "#mars/random.ts";
import { protocolUnits, type StreamOptions } from "#mars/stream.ts";
import { validateV1, validateV2, validateV2BatchFrame } from "#shared/events/index.ts";

const STREAM: Omit<StreamOptions, "protocol"> = {
  seed: "chaos",
  sessions: 40,
  startMs: Date.UTC(2024, 4, 1, 9, 0),
  hours: 4,
  couriers: 10,
};

function chaos(
  units: readonly WireUnit[],
  options: Omit<ChaosOptions, "protocol">,
  protocol: "v1" | "v2" = "v2",
) {
  return [...withChaos(units, { protocol, ...options }, Random.fromSeed("chaos-test"))];
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe("Mars chaos", () => {
  let v2: WireUnit[];
  let v1: WireUnit[];

  beforeAll(() => {
    v2 = [...protocolUnits({ ...STREAM, protocol: "v2" })];
    v1 = [...protocolUnits({ ...STREAM, protocol: "v1" })];
  });

  it("leaves the stream untouched when every fraction is 0", () => {
    // Act
    const out = chaos(v2, { duplicates: 0, reorder: 0, malformed: 0 });

    // Assess
    expect(out.map((u) => u.text)).toEqual(v2.map((u) => u.text));
  });

  it("sends the requested fraction of events twice, byte for byte", () => {
    // Prepare
    const originals = new Set(v2.map((u) => u.text));

    // Act
    const out = chaos(v2, { duplicates: 0.1, reorder: 0, malformed: 0 });
    const duplicates = out.filter((u) => u.kind === "duplicate");

    // Assess
    expect(v2.length).toBeGreaterThan(5000);
    expect(duplicates.length / v2.length).toBeGreaterThan(0.085);
    expect(duplicates.length / v2.length).toBeLessThan(0.115);
    expect(duplicates.every((u) => originals.has(u.text))).toBe(true);
    expect(out.filter((u) => u.kind === "event").map((u) => u.text)).toEqual(v2.map((u) => u.text));
  });

  it("sends the requested fraction of events late, each exactly once", () => {
    // Act
    const out = chaos(v2, { duplicates: 0, reorder: 0.1, malformed: 0 });
    const late = out.filter((u) => u.displacedBy !== undefined);
    const position = new Map(out.map((u, i) => [u.text, i]));
    const overtaken = v2.filter(
      (u, i) => i + 1 < v2.length && position.get(u.text)! > position.get(v2[i + 1]!.text)!,
    );

    // Assess
    expect(out).toHaveLength(v2.length);
    expect(new Set(out.map((u) => u.text))).toEqual(new Set(v2.map((u) => u.text)));
    expect(late.length / v2.length).toBeGreaterThan(0.085);
    expect(late.length / v2.length).toBeLessThan(0.115);
    expect(overtaken.length).toBeGreaterThan(0);
  });

  it("makes the requested fraction of v2 units invalid, each one rejected by the validator", () => {
    // Act
    const out = chaos(v2, { duplicates: 0, reorder: 0, malformed: 0.05 });
    const bad = out.filter((u) => u.kind === "malformed" || u.kind === "garbage");

    // Assess
    expect(bad.length / out.length).toBeGreaterThan(0.04);
    expect(bad.length / out.length).toBeLessThan(0.06);
    expect(out.filter((u) => u.kind === "event")).toHaveLength(v2.length);
    for (const unit of bad) {
      if (unit.kind === "garbage") {
        expect(isJson(unit.text) && validateV2BatchFrame(JSON.parse(unit.text)).ok).toBe(false);
      } else {
        expect(validateV2(JSON.parse(unit.text)).ok).toBe(false);
      }
    }
    expect(new Set(bad.map((u) => u.kind))).toEqual(new Set(["malformed", "garbage"]));
  });

  it("makes the requested fraction of v1 frames invalid, each one rejected by the validator", () => {
    // Act
    const out = chaos(v1, { duplicates: 0, reorder: 0, malformed: 0.2 }, "v1");
    const bad = out.filter((u) => u.kind !== "event");

    // Assess
    expect(bad.length / out.length).toBeGreaterThan(0.18);
    expect(bad.length / out.length).toBeLessThan(0.22);
    for (const unit of bad) expect(isJson(unit.text) && validateV1(JSON.parse(unit.text)).ok).toBe(false);
  });

  it("applies the same chaos for the same seed", () => {
    // Act
    const options = { duplicates: 0.05, reorder: 0.05, malformed: 0.05 };
    const first = chaos(v2.slice(0, 2000), options).map((u) => u.text);
    const second = chaos(v2.slice(0, 2000), options).map((u) => u.text);

    // Assess
    expect(second).toEqual(first);
  });
});

describe("Mars v2 batching", () => {
  function units(count: number, bytes: number): WireUnit[] {
    return Array.from({ length: count }, (_, i) => ({
      text: JSON.stringify({ n: i, pad: "x".repeat(bytes) }),
      kind: "event" as const,
      atMs: i,
    }));
  }

  it("fills frames up to the batch size", () => {
    // Prepare
    const batcher = new V2Batcher("test", 100);

    // Act
    const frames = units(250, 10).flatMap((u) => batcher.add(u));
    const rest = batcher.flush();

    // Assess
    expect(frames.map((f) => f.units)).toEqual([100, 100]);
    expect(rest?.units).toBe(50);
  });

  it("keeps every frame under 32 KB and valid, with unique batch ids", () => {
    // Prepare
    const batcher = new V2Batcher("test", 500);

    // Act
    const frames = units(2000, 400).flatMap((u) => batcher.add(u));
    const ids = frames.map((f) => f.batchId);

    // Assess
    expect(frames.length).toBeGreaterThan(10);
    for (const frame of frames) {
      expect(Buffer.byteLength(frame.text)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      expect(validateV2BatchFrame(JSON.parse(frame.text)).ok).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("sends a unit that is not JSON on its own, after the batch before it", () => {
    // Prepare
    const batcher = new V2Batcher("test", 100);
    batcher.add({ text: '{"a":1}', kind: "event", atMs: 0 });

    // Act
    const frames = batcher.add({ text: '{"a":', kind: "garbage", atMs: 1 });

    // Assess
    expect(frames.map((f) => [f.units, f.garbage ?? false])).toEqual([
      [1, false],
      [1, true],
    ]);
    expect(frames[1]!.text).toBe('{"a":');
  });
});
