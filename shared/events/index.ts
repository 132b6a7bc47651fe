/** The event contract: schemas, validation, derived ids and log headers. See docs/events.md. */
export {
  DEFAULT_MAX_FUTURE_SKEW_MS,
  EVENT_LIMITS,
  MAX_TIMESTAMP_LENGTH,
  PLATFORM_EPOCH,
  PLATFORM_EPOCH_ISO,
  STATUSES_REQUIRING_REASON,
  V1_EVENT_ID_NAMESPACE,
  V1_EVENT_TYPE,
  V1_FIELDS,
  V1_STATUSES,
  type V1Field,
  V2_EVENT_TYPES,
  V2_STATUSES,
  VEHICLE_TYPES,
} from "./constants.ts";
export { EventContractError } from "./errors.ts";
export { v1CanonicalName, v1EventId } from "./event-id.ts";
export { occurredAtMs } from "./event-time.ts";
export {
  V1_LOG_UNAVAILABLE_PREFIX,
  type V1AuthFrame,
  type V1AuthReply,
  type V1Reply,
  type V2AckFrame,
  type V2BatchFrame,
  type V2ErrorFrame,
  type V2EventResult,
  v1AuthFrameSchema,
  v2BatchFrameSchema,
  validateV2BatchFrame,
} from "./frames.ts";
export {
  type RecordRejection,
  rejectingThrows,
  VALIDATION_RULES,
  type Validation,
  type ValidationIssue,
  type ValidationRule,
} from "./issues.ts";
export { eventJsonSchemaFiles } from "./json-schema.ts";
export {
  type AcceptedEvent,
  DEAD_LETTER_HEADERS,
  deadLetterHeaders,
  errorReasonHeader,
  MAX_ERROR_REASON_BYTES,
  SESSIONS_HEADERS,
  sessionsRecordHeaders,
} from "./kafka.ts";
export { formatTimestampMs, normaliseTimestamp, parseTimestampMs, TIMESTAMP_PATTERN } from "./timestamp.ts";
export { UUID_PATTERN } from "./uuid.ts";
export { type V1Message, v1MessageSchema } from "./v1.ts";
export {
  type LocationPing,
  locationPingSchema,
  type SessionStarted,
  type StatusChanged,
  sessionStartedSchema,
  statusChangedSchema,
  type V2Event,
  type V2EventType,
  v2EventSchema,
} from "./v2.ts";
export { exceedsDepth, type ValidateOptions, validateV1, validateV2 } from "./validate.ts";
