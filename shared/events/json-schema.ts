import { z } from "zod";
import { v1MessageSchema } from "./v1.ts";
import { v2EventSchema } from "./v2.ts";

/** Where the generated JSON Schemas live (relative to the repository root) and what they are built from. */
const DOCUMENTS = [
  { path: "docs/schemas/v1-message.schema.json", id: "v1-message", schema: v1MessageSchema },
  { path: "docs/schemas/v2-event.schema.json", id: "v2-event", schema: v2EventSchema },
] as const;

/**
 * The JSON Schema documents of the contract, rendered as the files in docs/schemas (2-space JSON with a
 * final newline). Rules that need the clock (timestamp windows) or compare two timestamps are described in
 * the field descriptions only; JSON Schema cannot state them.
 */
export function eventJsonSchemaFiles(): { path: string; content: string }[] {
  return DOCUMENTS.map(({ path, id, schema }) => {
    const { $schema, ...body } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" });
    const document = { $schema, $id: `urn:packetpulse:schemas:${id}`, ...body };
    return { path, content: `${JSON.stringify(document, null, 2)}\n` };
  });
}
