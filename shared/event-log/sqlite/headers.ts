/**
 * Record headers as the embedded log stores them: one JSON object of string values (`{"event_id":"…",
 * "schema_version":"2"}`), written by JSON.stringify. Read back, each value is the UTF-8 of its string.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/** The stored form of a record's headers (null when the record has none). */
export function encodeHeaders(headers: Readonly<Record<string, string>> | undefined): string | null {
  return headers === undefined ? null : JSON.stringify(headers);
}

/** Sets a header; `__proto__` as an own property, as JSON.parse makes it, not as the object's prototype. */
function put(headers: Record<string, Buffer>, name: string, value: Buffer): void {
  if (name === "__proto__") {
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    headers[name] = value;
  }
}

/** Any stored form: parsed as JSON, each value encoded as UTF-8. */
function decodeParsed(json: Buffer): Record<string, Buffer> {
  const parsed = JSON.parse(json.toString("utf8")) as Record<string, string>;
  const headers: Record<string, Buffer> = {};
  for (const name of Object.keys(parsed)) put(headers, name, Buffer.from(parsed[name]!, "utf8"));
  return headers;
}

/**
 * Header names seen lately, so the handful a topic uses are not decoded again for every record: the bytes
 * of each name and its string. A name's bytes are compared before its string is reused.
 */
const names: { bytes: Buffer; name: string }[] = [];
const NAME_CACHE = 8;

function nameAt(json: Buffer, start: number, end: number): string {
  const length = end - start;
  search: for (const cached of names) {
    const bytes = cached.bytes;
    if (bytes.length !== length) continue;
    for (let i = 0; i < length; i++) if (bytes[i] !== json[start + i]) continue search;
    return cached.name;
  }
  const name = json.toString("utf8", start, end);
  if (names.length === NAME_CACHE) names.shift();
  names.push({ bytes: Buffer.from(json.subarray(start, end)), name });
  return name;
}

/** The end of a JSON string's content from `start` (its closing quote), or -1 if it holds an escape. */
function stringEnd(json: Buffer, start: number): number {
  for (let at = start; at < json.length; at++) {
    const byte = json[at];
    if (byte === QUOTE) return at;
    if (byte === BACKSLASH) return -1;
  }
  return -1;
}

/**
 * A record's headers from their stored bytes, each value a view into `json` (no copy). The JSON that
 * JSON.stringify writes for plain strings (no escapes) is read in place; anything else is parsed as JSON,
 * with the same result. Reading headers this way instead of parsing them took a fifth off the embedded log's
 * per-record read cost (docs/benchmarks.md).
 */
export function decodeHeaders(json: Buffer | null): Record<string, Buffer> {
  if (json === null) return {};
  const last = json.length - 1;
  if (json[0] !== OPEN || json[last] !== CLOSE) return decodeParsed(json);
  const headers: Record<string, Buffer> = {};
  if (last === 1) return headers;
  let at = 1;
  for (;;) {
    if (json[at] !== QUOTE) return decodeParsed(json);
    const nameEnd = stringEnd(json, at + 1);
    if (nameEnd < 0 || json[nameEnd + 1] !== COLON || json[nameEnd + 2] !== QUOTE) return decodeParsed(json);
    const valueEnd = stringEnd(json, nameEnd + 3);
    if (valueEnd < 0) return decodeParsed(json);
    put(headers, nameAt(json, at + 1, nameEnd), json.subarray(nameEnd + 3, valueEnd));
    at = valueEnd + 1;
    if (json[at] === COMMA) at++;
    else if (at === last) return headers;
    else return decodeParsed(json);
  }
}
