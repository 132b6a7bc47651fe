/** Base class for every error PacketPulse raises on purpose; subclasses set `name` and keep `cause`. */
export class PacketPulseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PacketPulseError";
  }
}

export class ConfigError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

export class EventLogError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EventLogError";
  }
}
