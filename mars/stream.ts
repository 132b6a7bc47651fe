import { type ChaosOptions, chaosEnabled, type WireUnit, withChaos } from "./chaos.ts";
import { runRandom, type SimulationOptions, simulate } from "./simulate.ts";
import type { Protocol, SimulatedEvent } from "./types.ts";
import { V1Projection } from "./v1.ts";

/**
 * The run's stream as it goes on the wire, still pure: simulated events, in the chosen protocol's shape,
 * serialised, with chaos applied. What `--out` writes, one unit per line, and what the client frames.
 */

export interface StreamOptions extends SimulationOptions {
  protocol: Protocol;
  chaos?: Omit<ChaosOptions, "protocol">;
}

/** Serialised units of the protocol, before chaos; `observe` sees every simulated event. */
export function* protocolUnits(
  options: StreamOptions,
  observe?: (event: SimulatedEvent) => void,
): Generator<WireUnit> {
  const projection = options.protocol === "v1" ? new V1Projection() : undefined;
  for (const simulated of simulate(options)) {
    observe?.(simulated);
    const payload = projection ? projection.project(simulated.event) : simulated.event;
    if (payload) yield { text: JSON.stringify(payload), kind: "event", atMs: simulated.atMs };
  }
}

export function wireUnits(
  options: StreamOptions,
  observe?: (event: SimulatedEvent) => void,
): Iterable<WireUnit> {
  const units = protocolUnits(options, observe);
  const chaos = options.chaos;
  if (!chaos || !chaosEnabled(chaos)) return units;
  return withChaos(
    units,
    { ...chaos, protocol: options.protocol },
    runRandom(options.seed, options.startMs).fork("chaos"),
  );
}
