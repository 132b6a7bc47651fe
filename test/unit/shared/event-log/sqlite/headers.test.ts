import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeHeaders, encodeHeaders } from "#shared/event-log/sqlite/headers.ts";

/**
 * The embedded log reads headers in place from their stored JSON, falling back to JSON.parse for anything
 * with an escape. Whatever the headers, the result must be what parsing gave: each value's UTF-8 bytes.
 */

/** The reading the in-place one replaced: JSON.parse, then each value as UTF-8. */
function parsed(json: string): Record<string, Buffer> {
  const object = JSON.parse(json) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(object).map(([name, value]) => [name, Buffer.from(value, "utf8")]),
  );
}

/** Header values as plain arrays, so a mismatch prints readably and Buffers compare by content. */
const plain = (headers: Record<string, Buffer>) =>
  Object.entries(headers).map(([name, value]) => [name, [...value]] as const);

const headerText = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "event_id",
    "schema_version",
    "__proto__",
    "constructor",
    "",
    '"',
    "\\",
    "a\u0000b",
    "Ωmega",
  ),
);

describe("stored record headers", () => {
  it("decode to each value's UTF-8 bytes, exactly as JSON.parse reads them", () => {
    fc.assert(
      fc.property(fc.dictionary(headerText, headerText, { maxKeys: 6 }), (headers) => {
        const json = encodeHeaders(headers)!;
        const decoded = decodeHeaders(Buffer.from(json, "utf8"));
        expect(plain(decoded)).toEqual(plain(parsed(json)));
        expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads the platform's own headers in place, as views of the stored bytes", () => {
    const stored = Buffer.from(
      `xx${encodeHeaders({ event_id: "0b6f7a52-58b4-4c5e-9d35-1d3b8f0e7a11", schema_version: "2" })}yy`,
    );
    const json = stored.subarray(2, stored.length - 2);
    const headers = decodeHeaders(json);
    expect(Object.keys(headers)).toEqual(["event_id", "schema_version"]);
    expect(headers.event_id!.toString()).toBe("0b6f7a52-58b4-4c5e-9d35-1d3b8f0e7a11");
    expect(headers.schema_version!.toString()).toBe("2");
    // A view, not a copy: it shares the stored bytes.
    expect(headers.schema_version!.buffer).toBe(stored.buffer);
  });

  it("keeps a header named __proto__ as a header, not as the object's prototype", () => {
    for (const json of ['{"__proto__":"x"}', '{"__proto__":"\\u0078"}']) {
      const headers = decodeHeaders(Buffer.from(json));
      expect(Object.keys(headers)).toEqual(["__proto__"]);
      expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(headers, "__proto__")?.value.toString()).toBe("x");
    }
  });

  it("gives no headers for none and for an empty object", () => {
    expect(encodeHeaders(undefined)).toBeNull();
    expect(decodeHeaders(null)).toEqual({});
    expect(decodeHeaders(Buffer.from("{}"))).toEqual({});
  });

  it("refuses stored bytes that are not a JSON object of strings", () => {
    expect(() => decodeHeaders(Buffer.from('{"a":"x",}'))).toThrow(SyntaxError);
    expect(() => decodeHeaders(Buffer.from('{"a":"x"'))).toThrow(SyntaxError);
  });
});
