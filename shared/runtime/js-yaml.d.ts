// Minimal typings for js-yaml 4 (no @types package in this project): only what serverless.ts uses.
declare module "js-yaml" {
  export class Type {
    constructor(
      tag: string,
      options: { kind: "scalar" | "sequence" | "mapping"; construct?: (data: unknown) => unknown },
    );
  }
  export class Schema {
    extend(types: Type[]): Schema;
  }
  export const DEFAULT_SCHEMA: Schema;
  export function load(text: string, options?: { schema?: Schema; filename?: string }): unknown;
}
