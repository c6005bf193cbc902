/**
 * The one registry of nestjs-im's own error conditions. Each has a stable
 * string id (for logs and metrics) and, where a client is told,
 * the numeric code sent in a type-52 error or a failed login response.
 *
 * Numbers are in the 400-499 band of the range MobileIMSDK reserves for the
 * framework (0-1024); the protocol's own 301 stays as it is.
 */
export interface IMErrorDefinition {
  /** Stable machine-readable id, e.g. `IM_FRAME_TOO_LARGE`. */
  readonly id: string;
  /** Numeric code put on the wire, when the condition is reported to the client. */
  readonly wireCode: number;
  /** Human-readable message factory. */
  readonly message: (detail?: string) => string;
}

function def(id: string, wireCode: number, text: string): IMErrorDefinition {
  return { id, wireCode, message: (detail) => (detail ? `${text}: ${detail}` : text) };
}

/** A condition reported to the application only (at start-up): it has no wire code. */
export interface IMStartupErrorDefinition {
  /** Stable machine-readable id, e.g. `IM_PORT_IN_USE`. */
  readonly id: string;
  /** Human-readable message factory. */
  readonly message: (detail?: string) => string;
}

function startupDef(id: string, text: string): IMStartupErrorDefinition {
  return { id, message: (detail) => (detail ? `${text}: ${detail}` : text) };
}

export const IMErrors = {
  /** The session is not logged in (the protocol's own error). */
  NOT_LOGGED_IN: def('IM_NOT_LOGGED_IN', 301, 'session is not logged in'),
  /** A frame/body that is not exactly one JSON object. */
  BAD_JSON: def('IM_BAD_JSON', 400, 'body is not one JSON object'),
  /** A field of the wrong type (e.g. a fractional `type`). */
  BAD_FIELD: def('IM_BAD_FIELD', 400, 'packet field has the wrong type'),
  /** Login info missing, or not an object, or without loginUserId. */
  BAD_LOGIN_INFO: def('IM_BAD_LOGIN_INFO', 400, 'login info missing or invalid'),
  /** A login as a reserved user id ("0", "-1"). */
  RESERVED_USER_ID: def('IM_RESERVED_USER_ID', 400, 'user id is reserved'),
  /** The login was refused (handler returned false, a guard denied, or it threw). */
  LOGIN_REFUSED: def('IM_LOGIN_REFUSED', 401, 'login refused'),
  /** A data packet whose `from` is not the session's user. */
  FORGED_SENDER: def('IM_FORGED_SENDER', 403, 'from does not match the logged-in user'),
  /** A handler or guard refused the packet. */
  FORBIDDEN: def('IM_FORBIDDEN', 403, 'refused by the application'),
  /** A QoS data packet without a fingerprint: it cannot be acknowledged. */
  MISSING_FINGERPRINT: def('IM_MISSING_FINGERPRINT', 422, 'QoS packet has no fp'),
  /** A TCP frame, WebSocket message or datagram over the configured limit. */
  FRAME_TOO_LARGE: def('IM_FRAME_TOO_LARGE', 413, 'frame exceeds the size limit'),
  /** An outbound data packet too large for the recipient's transport. */
  OUTBOUND_TOO_LARGE: def('IM_OUTBOUND_TOO_LARGE', 413, 'packet too large for the recipient'),
  /** The session sent faster than its rate limit. */
  RATE_LIMITED: def('IM_RATE_LIMITED', 429, 'rate limit exceeded'),
  /** Too many packets queued behind a slow (async) handler. */
  QUEUE_OVERFLOW: def('IM_QUEUE_OVERFLOW', 429, 'too many packets waiting to be processed'),
  /** A transport's connection limit was reached. */
  TOO_MANY_CONNECTIONS: def('IM_TOO_MANY_CONNECTIONS', 503, 'connection limit reached'),
  /** An application handler threw an error that no filter mapped. */
  HANDLER_FAILED: def('IM_HANDLER_FAILED', 500, 'handler failed'),
  /** A WebSocket binary frame (the protocol carries text only). */
  BINARY_FRAME: def('IM_BINARY_FRAME', 400, 'binary frames are not accepted'),
  /** A listener's port is taken at start-up (by another process, or by the Nest HTTP server). */
  PORT_IN_USE: startupDef('IM_PORT_IN_USE', 'port already in use'),
  /** A listener could not bind at start-up for another reason (no permission, no such address). */
  LISTEN_FAILED: startupDef('IM_LISTEN_FAILED', 'cannot listen'),
} as const;

/** Name of one registered error. */
export type IMErrorName = keyof typeof IMErrors;
