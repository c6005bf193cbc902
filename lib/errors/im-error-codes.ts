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
  /** A TCP or WebSocket session over its packet budget is no longer read until it refills (backpressure; never on the wire). */
  READ_PAUSED: def('IM_READ_PAUSED', 429, 'over the packet budget: reading paused until it refills'),
  /** A TCP or WebSocket peer left more than `maxBufferedBytes` unread: closed, its unACKed packets reported. */
  SLOW_CONSUMER: def('IM_SLOW_CONSUMER', 429, 'the client does not read: outbound buffer over its bound'),
  /** Too many packets queued behind a slow (async) handler. */
  QUEUE_OVERFLOW: def('IM_QUEUE_OVERFLOW', 429, 'too many packets waiting to be processed'),
  /** A session has `limits.maxCrossNodeInFlight` C2C on their way to other nodes: its later packets wait (never sent to a client). */
  CROSS_NODE_BACKLOG: def('IM_CROSS_NODE_BACKLOG', 429, 'too many messages on their way to other cluster nodes'),
  /** Another node did not answer a cross-node C2C or push in time: it may have been delivered (logged only). */
  CROSS_NODE_UNKNOWN: def('IM_CROSS_NODE_UNKNOWN', 504, 'another cluster node did not answer in time; the message may have been delivered'),
  /** A transport's connection limit was reached. */
  TOO_MANY_CONNECTIONS: def('IM_TOO_MANY_CONNECTIONS', 503, 'connection limit reached'),
  /** An application handler threw an error that no filter mapped. */
  HANDLER_FAILED: def('IM_HANDLER_FAILED', 500, 'handler failed'),
  /**
   * A QoS C2C that will not be delivered: the recipient is online nowhere (or its
   * transport cannot take the packet) and no `@OnC2COffline` handler stored it. Sent,
   * with the packet's `fp`, only to clients that asked at login (`notifyUndeliverable`).
   */
  UNDELIVERABLE: def('IM_UNDELIVERABLE', 404, 'recipient is offline and the message was not stored'),
  /**
   * A QoS C2C (or a stored push) the message store refused: the recipient's queue
   * is full (`store.maxPerUser`), the store is full (`store.maxTotal`), the packet
   * is larger than any transport delivers, or the store is unreachable. Sent to the
   * sender, with the packet's `fp`, instead of an ACK; the application gets a
   * `store-refused` event.
   */
  STORE_REFUSED: def('IM_STORE_REFUSED', 507, 'recipient is offline and the message store refused the message'),
  /** An `fp`, user id or recipient longer than its limit (`limits.maxFingerprintLength`, `limits.maxUserIdLength`). */
  FIELD_TOO_LONG: def('IM_FIELD_TOO_LONG', 400, 'field exceeds its length limit'),
  /** `@IMJson()` content nested deeper than `limits.jsonMaxDepth`. */
  JSON_TOO_DEEP: def('IM_JSON_TOO_DEEP', 400, 'JSON nests too deeply'),
  /** Too many failed logins from the address or for the user id: refused before `@OnLogin` runs. */
  LOGIN_THROTTLED: def('IM_LOGIN_THROTTLED', 429, 'too many failed logins; try again later'),
  /** The connection did not log in within `limits.loginTimeoutMs` (closed; nothing is sent). */
  LOGIN_TIMEOUT: def('IM_LOGIN_TIMEOUT', 408, 'no login within the login timeout'),
  /** Too many connections from one address that have not logged in (`limits.maxUnauthenticatedPerAddress`). */
  TOO_MANY_UNAUTHENTICATED: def('IM_TOO_MANY_UNAUTHENTICATED', 503, 'too many connections that have not logged in'),
  /** The oldest session that had not logged in was closed to admit a new one (`limits.maxUnauthenticated`). */
  UNAUTHENTICATED_EVICTED: def('IM_UNAUTHENTICATED_EVICTED', 503, 'closed to make room: not logged in'),
  /** The process is near its open-file limit (`limits.fdReserve`): new connections are refused. */
  FD_LIMIT: def('IM_FD_LIMIT', 503, 'process is near its open-file limit'),
  /** A reply to a UDP peer that is not logged in would be larger than its datagram (no amplification): not sent. */
  REPLY_SUPPRESSED: def('IM_REPLY_SUPPRESSED', 0, 'reply to an unauthenticated UDP peer suppressed'),
  /** A WebSocket binary frame (the protocol carries text only). */
  BINARY_FRAME: def('IM_BINARY_FRAME', 400, 'binary frames are not accepted'),
  /** A listener's port is taken at start-up (by another process, or by the Nest HTTP server). */
  PORT_IN_USE: startupDef('IM_PORT_IN_USE', 'port already in use'),
  /** A listener could not bind at start-up for another reason (no permission, no such address). */
  LISTEN_FAILED: startupDef('IM_LISTEN_FAILED', 'cannot listen'),
} as const;

/** Name of one registered error. */
export type IMErrorName = keyof typeof IMErrors;
