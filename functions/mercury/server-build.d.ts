/** The Remix server build (web/build/server/index.js), put in place by scripts/build.ts's bundler. */
declare module "virtual:mercury/server-build" {
  import type { ServerBuild } from "@remix-run/node";

  const build: ServerBuild;
  export = build;
}
