/**
 * A child process for the multi-instance tests: one invocation of Uranus's scheduled Lambda handler
 * (configured from the environment, like a container), with the schedule event given as JSON in
 * URANUS_EVENT. Prints `summary {json}` and exits.
 */
const { handler } = await import("#functions/uranus/handler.ts");
const summary = await handler(JSON.parse(process.env.URANUS_EVENT ?? "{}"), {} as never);
console.log(`summary ${JSON.stringify(summary)}`);
process.exit(0);
