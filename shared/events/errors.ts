import { PacketPulseError } from "#shared/errors.ts";

/** Raised when code inside the boundary hands the contract helpers an event that was never validated. */
export class EventContractError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EventContractError";
  }
}
