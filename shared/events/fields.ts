import { z } from "zod";
import { MAX_TIMESTAMP_LENGTH } from "./constants.ts";
import { TIMESTAMP_PATTERN } from "./timestamp.ts";
import { UUID_PATTERN } from "./uuid.ts";

/**
 * Building blocks of the event schemas. Range messages are written without the field name: the issue mapper
 * (issues.ts) prefixes the field and appends the value received.
 */

export const uuidField = (description: string) =>
  z
    .string()
    .regex(UUID_PATTERN)
    .meta({
      description: `${description} UUID, versions 1-8 (RFC 4122, RFC 9562), hex digits in either case.`,
      format: "uuid",
      examples: ["3f2b8c1e-6d4a-4e8b-9c2f-1a7d5e9b0c34"],
    });

export const timestampField = (description: string) =>
  z
    .string()
    .max(MAX_TIMESTAMP_LENGTH)
    .regex(TIMESTAMP_PATTERN)
    .meta({
      description: `${description} ISO-8601 date-time; without a zone it means UTC. Not before 2020-01-01T00:00:00Z.`,
      examples: ["2024-05-01T10:30:00Z", "2024-05-01T12:30:00.250+02:00", "2024-05-01T10:30:00"],
    });

/** A number in a range; `exclusiveMax`/`exclusiveMin` make that bound open. */
export function boundedNumber(
  min: number,
  max: number,
  description: string,
  bounds: { exclusiveMin?: boolean; exclusiveMax?: boolean } = {},
) {
  const lower = bounds.exclusiveMin ? `greater than ${min}` : `at least ${min}`;
  const upper = bounds.exclusiveMax ? `below ${max}` : `at most ${max}`;
  const error =
    bounds.exclusiveMin || bounds.exclusiveMax
      ? `must be ${lower} and ${upper}`
      : `must be between ${min} and ${max}`;
  const withMin = bounds.exclusiveMin ? z.number().gt(min, { error }) : z.number().gte(min, { error });
  return (bounds.exclusiveMax ? withMin.lt(max, { error }) : withMin.lte(max, { error })).meta({
    description,
  });
}

export const latitudeField = (description: string) =>
  boundedNumber(-90, 90, `${description} WGS84 latitude in degrees.`);

export const longitudeField = (description: string) =>
  boundedNumber(-180, 180, `${description} WGS84 longitude in degrees.`);

/**
 * JSON Schema for "this pair is not exactly 0,0". zod cannot state it, so validate.ts checks it (rule
 * `missing_position`); the fragment is attached to the object's metadata for other-language clients.
 */
export function notNullIsland(latField: string, lonField: string) {
  return {
    not: {
      properties: { [latField]: { const: 0 }, [lonField]: { const: 0 } },
      required: [latField, lonField],
    },
  };
}
