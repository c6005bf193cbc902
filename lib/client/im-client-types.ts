import { Packet } from '../protocol/packet';
import { QoSOutcome, QoSTimings } from './qos-outbox';
import { SenseMode as ClientSenseMode, KeepaliveTimings } from '../protocol/sense-mode';

/** Options of {@link IMClient}; every timing is configurable so tests can run fast. */
export interface IMClientOptions {
  /** Keepalive preset (PROTOCOL.md §5.2); default `DEFAULT` (TCP/WS 15 s / 20 s, UDP 3 s / 10 s). */
  senseMode?: ClientSenseMode;
  /** Explicit keepalive timings (override `senseMode`), or `false` for no keepalive. */
  keepalive?: Partial<KeepaliveTimings> | false;
  /** Client QoS timings; default the SDKs' 5 s check, 3 s grace, 2 resends. */
  qos?: Partial<QoSTimings>;
  /** Receive deduplication: window (default 10 min) and size bound (default 50,000). */
  dedup?: { ttlMs?: number; maxEntries?: number };
  /** Timeout of `login()`, `echo()` and the default of `nextPacket()`. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Received packets kept for `nextPacket()`; older ones are dropped. Default 1000; 0 keeps none. */
  packetQueueSize?: number;
  /** ACK every incoming QoS packet, as the SDKs do. Default true; false is for wire tests. */
  autoAck?: boolean;
  /** Clock for QoS, dedup and keepalive ages. Default `Date.now`. */
  now?: () => number;
}

/** Arguments of {@link IMClient.login}. */
export interface LoginRequest {
  /** The user id (`loginUserId`). */
  userId: string;
  /** Credential checked by the server (`loginToken`). */
  token?: string;
  /** Optional application string. */
  extra?: string;
  /** Override the `firstLoginTime` sent; default the one saved from the last successful login (0 at first). */
  firstLoginTime?: number;
}

/** The login response (type 50): `code` 0 is success. */
export interface LoginResult {
  code: number;
  /** The device's first-login time on success, -1 on failure. */
  firstLoginTime: number;
}

/** Options of {@link IMClient.sendC2C} and {@link IMClient.sendC2S}. */
export interface SendOptions {
  /** Ask for an ACK and retransmit until it comes. Default true. */
  qos?: boolean;
  /** Application message type. Default -1. */
  typeu?: number;
  /** Fingerprint; default a new UUID when `qos` is on. */
  fp?: string;
}

/** Result of a send: `'sent'` when QoS was off, else the QoS outcome. */
export type SendOutcome = QoSOutcome | 'sent';

/** Payload of a kick-out (type 54, PROTOCOL.md §3.4). */
export interface KickoutInfo {
  /** 1 duplicate login, 2 kicked by the application. */
  code: number;
  reason?: string;
}

/** Payload of a server error (type 52), e.g. 301 "not logged in". */
export interface ServerErrorInfo {
  /** The error code; -1 when the payload could not be read. */
  errorCode: number;
  errorMsg?: string;
  /** The fingerprint of the data packet this error refuses (nestjs-im servers set it on 403, 400, 500... answers to a data packet). */
  fp?: string;
  /** The error packet itself. */
  packet: Packet;
}

/** Why the connection ended. */
export type CloseReason =
  /** `close()` was called. */
  | 'local'
  /** `logout()` was called. */
  | 'logout'
  /** The server kicked this session out. */
  | 'kicked'
  /** The login response had a non-zero code. */
  | 'login-failed'
  /** No keepalive response within the timeout. */
  | 'keepalive-timeout'
  /** The server closed the connection or the transport failed. */
  | 'remote';

/** Payload of the `close` event. */
export interface CloseInfo {
  reason: CloseReason;
  /** The transport error, if one ended the link. */
  error?: Error;
}

/** Payload of the `linkLost` event. */
export interface LinkLostInfo {
  reason: 'keepalive-timeout' | 'remote';
  error?: Error;
}

/** Events of {@link IMClient}. */
export interface IMClientEvents {
  /** A data packet (type 2) from another user or the server, after deduplication. */
  message: (packet: Packet) => void;
  /** Every packet received, before deduplication (for wire-level observers). */
  packet: (packet: Packet) => void;
  /** The server kicked this session out; the client closes. */
  kicked: (info: KickoutInfo) => void;
  /** The server sent an error (type 52). On 301 the client stops its keepalive and is no longer logged in. */
  error: (info: ServerErrorInfo) => void;
  /** The link was lost without this side closing it (the SDKs would now re-login). */
  linkLost: (info: LinkLostInfo) => void;
  /** The connection ended, for any reason. Emitted once per connection. */
  close: (info: CloseInfo) => void;
  /** A received body that is not a valid packet; it is otherwise ignored. */
  invalidPacket: (text: string, detail: string) => void;
}
