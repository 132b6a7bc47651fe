import type { MercuryContext } from "../server/context.ts";

declare module "@remix-run/node" {
  interface AppLoadContext {
    mercury: MercuryContext;
  }
}

export type { MercuryContext };
