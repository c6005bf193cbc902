/**
 * MobileIMSDK protocol codes as they appear on the wire (PROTOCOL.md §3.3, §3.4).
 * The library's own error codes live in `lib/errors/im-error-codes.ts`.
 */
export const ProtocolErrorCode = {
  OK: 0,
  /** Client-side: not logged in. */
  NOT_LOGGED_IN_CLIENT: 1,
  UNKNOWN_ERROR: 2,
  DATA_SEND_FAILED: 3,
  INVALID_PACKET: 4,
  /** Client-side network conditions. */
  BREAK_CONNECT: 201,
  CONNECT_FAILED: 202,
  CLIENT_SDK_NOT_INITIALIZED: 203,
  LOCAL_NETWORK_NOT_WORKING: 204,
  TO_SERVER_NET_INFO_NOT_SETUP: 205,
  /** The only error the reference server sends: the session is not logged in. */
  NOT_LOGGED_IN: 301,
} as const;

/** Codes carried in a kick-out (type 54) payload. */
export const KickoutCode = {
  /** The same user id logged in elsewhere. */
  DUPLICATE_LOGIN: 1,
  /** Kicked by the application or an administrator. */
  KICKED_BY_ADMIN: 2,
} as const;

/** Kick code reported to logout handlers when the session ended without a kick. */
export const NO_KICK = -1;

/**
 * Login codes up to this value are reserved for the framework; applications
 * should reject logins with codes above it (PROTOCOL.md §3.3).
 */
export const MAX_FRAMEWORK_CODE = 1024;
