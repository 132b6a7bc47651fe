import { PacketPulseError } from "#shared/errors.ts";

/**
 * An error the HTTP interface answers in ClickHouse's own form: `Code: N. DB::Exception: message. (NAME)`
 * in the body, the code in `X-ClickHouse-Exception-Code`, and the HTTP status ClickHouse gives that code.
 */
export class ClickHouseHttpError extends PacketPulseError {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ClickHouseHttpError";
  }
}

/** ClickHouse's error codes the interface raises itself (src/Common/ErrorCodes.cpp). */
export const ERROR = {
  SYNTAX_ERROR: [62, "SYNTAX_ERROR"],
  UNKNOWN_SETTING: [115, "UNKNOWN_SETTING"],
  READONLY: [164, "READONLY"],
  UNKNOWN_FORMAT: [73, "UNKNOWN_FORMAT"],
  CANNOT_DECOMPRESS: [271, "CANNOT_DECOMPRESS"],
  SETTING_CONSTRAINT_VIOLATION: [452, "SETTING_CONSTRAINT_VIOLATION"],
  ACCESS_DENIED: [497, "ACCESS_DENIED"],
  AUTHENTICATION_FAILED: [516, "AUTHENTICATION_FAILED"],
  HTTP_NOT_FOUND: [0, "UNKNOWN"],
} as const satisfies Record<string, readonly [number, string]>;

export function clickhouseError(
  [code, type]: readonly [number, string],
  message: string,
  options?: { cause?: unknown },
): ClickHouseHttpError {
  return new ClickHouseHttpError(code, type, message, options);
}

/** `Code: 60. DB::Exception: Unknown table ... (UNKNOWN_TABLE)`, as chDB words its errors. */
const CHDB_ERROR =
  /^Code: (\d+)\. DB::Exception: ([\s\S]*?)(?: \(([A-Z_0-9]+)\))?(?: \(version [^)]*\))?\.?\s*$/;

/** The error of a failed statement, from chDB's message (which is ClickHouse's own). */
export function fromEngineError(error: unknown): ClickHouseHttpError {
  if (error instanceof ClickHouseHttpError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const match = CHDB_ERROR.exec(message.trim());
  if (!match) return new ClickHouseHttpError(1001, "STD_EXCEPTION", message, { cause: error });
  return new ClickHouseHttpError(Number(match[1]), match[3] ?? "UNKNOWN_EXCEPTION", match[2]!, {
    cause: error,
  });
}

/** The HTTP status ClickHouse's HTTP handler gives an error code (src/Server/HTTPHandler.cpp). */
export function httpStatusOf(code: number): number {
  switch (code) {
    case 194: // REQUIRED_PASSWORD
    case 192: // UNKNOWN_USER
    case 193: // WRONG_PASSWORD
    case 516: // AUTHENTICATION_FAILED
      return 401;
    case 164: // READONLY
    case 497: // ACCESS_DENIED
      return 403;
    case 36: // BAD_ARGUMENTS
    case 62: // SYNTAX_ERROR
    case 26: // CANNOT_PARSE_QUOTED_STRING
    case 27: // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 6: // CANNOT_PARSE_TEXT
    case 47: // UNKNOWN_IDENTIFIER
    case 115: // UNKNOWN_SETTING
    case 452: // SETTING_CONSTRAINT_VIOLATION
    case 456: // UNKNOWN_QUERY_PARAMETER
    case 457: // BAD_QUERY_PARAMETER
      return 400;
    case 60: // UNKNOWN_TABLE
    case 46: // UNKNOWN_FUNCTION
    case 73: // UNKNOWN_FORMAT
    case 81: // UNKNOWN_DATABASE
      return 404;
    case 159: // TIMEOUT_EXCEEDED
      return 408;
    default:
      return 500;
  }
}

/** The response body of an error, as a ClickHouse server writes it. */
export function errorBody(error: ClickHouseHttpError, version: string): string {
  return `Code: ${error.code}. DB::Exception: ${error.message.replace(/\.+$/, "")}. (${error.type}) (version ${version})\n`;
}
