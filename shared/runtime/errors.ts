import { PacketPulseError } from "#shared/errors.ts";

/** A problem with event-source wiring (serverless.yml) or with loading a handler. */
export class EventSourceConfigError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EventSourceConfigError";
  }
}

/** Raised inside a batch when the runtime stops: nothing of that batch is committed, it is delivered again. */
export class EventSourceStopped extends PacketPulseError {
  constructor(functionName: string) {
    super(`Event source of ${functionName} stopped before its batch completed`);
    this.name = "EventSourceStopped";
  }
}

/** An invocation that failed: the handler threw, timed out, or returned a malformed partial response. */
export class InvocationError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvocationError";
  }
}
