import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { eventJsonSchemaFiles, V1_FIELDS } from "#shared/events/index.ts";

const repositoryFile = (path: string) =>
  readFileSync(new URL(`../../../../${path}`, import.meta.url), "utf8");

describe("generated JSON Schemas", () => {
  it.each(eventJsonSchemaFiles().map((file) => [file.path, file.content]))(
    "%s is up to date with the zod schemas (run `npm run schemas` after a contract change)",
    (path, generated) => {
      // Act
      const committed = repositoryFile(path);

      // Assess
      expect(committed, `${path} is stale: run \`npm run schemas\` and commit the result`).toBe(generated);
    },
  );

  it("describes the v1 message as the 12 fields, all required, other fields allowed", () => {
    // Prepare
    const file = eventJsonSchemaFiles().find((candidate) =>
      candidate.path.endsWith("v1-message.schema.json"),
    );

    // Act
    const schema = JSON.parse(file!.content);

    // Assess
    expect(Object.keys(schema.properties)).toEqual([...V1_FIELDS]);
    expect(schema.required).toEqual([...V1_FIELDS]);
    expect(schema.additionalProperties).toBeUndefined();
  });

  it("describes v2 events as one strict object per event type", () => {
    // Prepare
    const file = eventJsonSchemaFiles().find((candidate) => candidate.path.endsWith("v2-event.schema.json"));

    // Act
    const schema = JSON.parse(file!.content);

    // Assess
    expect(
      schema.oneOf.map(
        (variant: { properties: { event_type: { const: string } } }) => variant.properties.event_type.const,
      ),
    ).toEqual(["session_started", "location_ping", "status_changed"]);
    for (const variant of schema.oneOf) expect(variant.additionalProperties).toBe(false);
  });
});
