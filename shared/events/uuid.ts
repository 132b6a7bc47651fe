import { createHash } from "node:crypto";

/**
 * UUID strings as the contract accepts them: 8-4-4-4-12 hex digits in either case, a version nibble 1-8
 * (RFC 4122 versions 1-5 and the RFC 9562 versions 6-8) and the RFC 4122 variant. The nil and max UUIDs are
 * refused: devices send them when an id was never set.
 */
export const UUID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;

/** The RFC 4122 (appendix C) namespace for names that are URLs or URNs. */
export const RFC4122_URL_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll("-", ""), "hex");
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A name-based v5 UUID (RFC 4122 section 4.3): SHA-1 of namespace bytes + UTF-8 name, version and variant set. */
export function uuidV5(name: string, namespace: string): string {
  const digest = createHash("sha1").update(uuidBytes(namespace)).update(name, "utf8").digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return formatUuid(bytes);
}
