import { PacketPulseError } from "#shared/errors.ts";

/** Base class of the simulator's own errors. */
export class MarsError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MarsError";
  }
}

/** A command-line option or environment variable has a wrong value (exit code 2). */
export class MarsOptionsError extends MarsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MarsOptionsError";
  }
}

/** The server refused the API key: retrying cannot help (exit code 1). */
export class MarsAuthError extends MarsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MarsAuthError";
  }
}

/** The connection could not be re-established within the allowed attempts (exit code 1). */
export class MarsGaveUpError extends MarsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MarsGaveUpError";
  }
}
