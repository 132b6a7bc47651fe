import { PacketPulseError } from "#shared/errors.ts";

/** A model file is malformed, names an unknown dependency, or the models form a cycle. */
export class ModelDefinitionError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelDefinitionError";
  }
}

/** One or more models of a run failed; every model's outcome is in `uranus_runs`. */
export class GoldRunError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GoldRunError";
  }
}
