/**
 * Packet type codes of the MobileIMSDK wire protocol (PROTOCOL.md §3.1).
 * Client types are 0-5, server types 50-54; any other code is ignored by the server.
 */
export const PacketType = {
  /** C→S login with JSON login info. */
  LOGIN: 0,
  /** C→S keepalive ("{}"). */
  KEEPALIVE: 1,
  /** Application data: C2S when `to` is "0", C2C otherwise, S2C when sent by the server. */
  DATA: 2,
  /** C→S logout; never answered. */
  LOGOUT: 3,
  /** ACK ("received"); `dataContent` is the acknowledged fingerprint. */
  ACK: 4,
  /** C→S echo, a test aid. */
  ECHO: 5,
  /** S→C login response. */
  LOGIN_RESPONSE: 50,
  /** S→C keepalive response. */
  KEEPALIVE_RESPONSE: 51,
  /** S→C error response. */
  ERROR: 52,
  /** S→C echo response. */
  ECHO_RESPONSE: 53,
  /** S→C kick-out. */
  KICKOUT: 54,
} as const;

/** One of the {@link PacketType} codes. */
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

/** The user id that stands for the server in `from`/`to`. */
export const SERVER_USER_ID = '0';
/** The user id used in error and failed-login responses ("no user"). */
export const NO_USER_ID = '-1';
