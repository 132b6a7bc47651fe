import type { WireUnit } from "./chaos.ts";

/**
 * WebSocket frames out of wire units. v1: one frame per unit. v2: units gathered into batch frames of at
 * most `batchSize` events and {@link MAX_FRAME_BYTES} bytes (API Gateway refuses frames over 32 KB); a unit
 * that is not JSON cannot sit inside a batch and goes alone, as the broken frame it is meant to be.
 */

/** Kept below API Gateway's 32 KB frame limit with room to spare. */
export const MAX_FRAME_BYTES = 32_000;

export const MAX_BATCH_EVENTS = 500;

export interface OutboundFrame {
  text: string;
  /** Units (events, or v1 messages) in the frame. */
  units: number;
  /** v2 batches only. */
  batchId?: string;
  /** A v2 frame broken on purpose (not JSON, or not a valid batch): answered by an error naming no batch of ours. */
  garbage?: boolean;
}

export function v1Frame(unit: WireUnit): OutboundFrame {
  return { text: unit.text, units: 1 };
}

export class V2Batcher {
  readonly #runId: string;
  readonly #batchSize: number;
  #texts: string[] = [];
  #bytes = 0;
  #sequence = 0;

  /** @param runId a short id of the run, so that batch ids from different runs differ. */
  constructor(runId: string, batchSize: number) {
    if (batchSize < 1 || batchSize > MAX_BATCH_EVENTS) {
      throw new RangeError(`batch size must be between 1 and ${MAX_BATCH_EVENTS} (got ${batchSize})`);
    }
    this.#runId = runId;
    this.#batchSize = batchSize;
  }

  get pending(): number {
    return this.#texts.length;
  }

  /** Adds a unit; returns the frames it completes (zero, one, or two when a garbage unit cuts in). */
  add(unit: WireUnit): OutboundFrame[] {
    if (unit.kind === "garbage") {
      const before = this.flush();
      return [...(before ? [before] : []), { text: unit.text, units: 1, garbage: true }];
    }
    const bytes = Buffer.byteLength(unit.text);
    const frames: OutboundFrame[] = [];
    if (this.#texts.length > 0 && this.#frameBytes(bytes) > MAX_FRAME_BYTES) frames.push(this.flush()!);
    this.#texts.push(unit.text);
    this.#bytes += bytes;
    if (this.#texts.length >= this.#batchSize) frames.push(this.flush()!);
    return frames;
  }

  /** The batch gathered so far, if any. */
  flush(): OutboundFrame | undefined {
    if (this.#texts.length === 0) return undefined;
    this.#sequence++;
    const batchId = `mars-${this.#runId}-${String(this.#sequence).padStart(6, "0")}`;
    const text = `{"type":"events","batch_id":${JSON.stringify(batchId)},"events":[${this.#texts.join(",")}]}`;
    const frame = { text, units: this.#texts.length, batchId };
    this.#texts = [];
    this.#bytes = 0;
    return frame;
  }

  /** Size of the frame if a unit of `extra` bytes were added (batch id of the longest form). */
  #frameBytes(extra: number): number {
    const envelope = `{"type":"events","batch_id":"mars-${this.#runId}-0000000000","events":[]}`.length;
    return envelope + this.#bytes + extra + this.#texts.length;
  }
}
