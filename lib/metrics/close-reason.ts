import { IMErrors } from '../errors/im-error-codes';

/**
 * Why a session ended: a closed set. The core passes it to
 * `IMConnection.close()`, puts it on the `offline` event (`closeReason`) and in
 * close logs, and it is the `reason` label of `im_closes_total`.
 * {@link closeReasonOf} maps the older free-text reasons onto it.
 */
export type IMCloseReason =
  /** The client sent a logout packet. */
  | 'logout'
  /** Kicked by the application (`PushService.kick`) or by a duplicate login. */
  | 'kicked'
  /** The same device logged in again; the old connection was retired quietly. */
  | 'superseded'
  /** A stale device's login was refused after its code-0 response. */
  | 'stale-login'
  /** No packet within the sense mode's idle timeout. */
  | 'idle-timeout'
  /** Not logged in within `limits.loginTimeoutMs`. */
  | 'login-timeout'
  /** Closed, before it logged in, to admit a newer connection (`limits.maxUnauthenticated`). */
  | 'evicted'
  /** The peer did not read: its outbound buffer passed `maxBufferedBytes`. */
  | 'slow-consumer'
  /** The login was refused. */
  | 'login-refused'
  /** Malformed input: bad JSON, a bad field, an oversize frame, a binary frame. */
  | 'bad-input'
  /** Data, keepalive or ACK before login. */
  | 'not-logged-in'
  /** Too many packets waited behind a slow handler. */
  | 'queue-overflow'
  /** The server is shutting down. */
  | 'shutdown'
  /** The peer closed the connection, or it failed. */
  | 'peer-closed'
  /** Any reason not listed above (kept so a new core reason is never lost). */
  | 'other';

const BY_TEXT: Readonly<Record<string, IMCloseReason>> = {
  logout: 'logout',
  kicked: 'kicked',
  superseded: 'superseded',
  'stale login': 'stale-login',
  'idle timeout': 'idle-timeout',
  shutdown: 'shutdown',
  [IMErrors.LOGIN_TIMEOUT.id]: 'login-timeout',
  [IMErrors.UNAUTHENTICATED_EVICTED.id]: 'evicted',
  [IMErrors.SLOW_CONSUMER.id]: 'slow-consumer',
  [IMErrors.LOGIN_REFUSED.id]: 'login-refused',
  [IMErrors.NOT_LOGGED_IN.id]: 'not-logged-in',
  [IMErrors.QUEUE_OVERFLOW.id]: 'queue-overflow',
  [IMErrors.BAD_JSON.id]: 'bad-input',
  [IMErrors.BAD_FIELD.id]: 'bad-input',
  [IMErrors.BAD_LOGIN_INFO.id]: 'bad-input',
  [IMErrors.FRAME_TOO_LARGE.id]: 'bad-input',
  [IMErrors.BINARY_FRAME.id]: 'bad-input',
};

/** Maps the core's close text (`closeSession(session, reason)`) onto {@link IMCloseReason}. */
export function closeReasonOf(text: string): IMCloseReason {
  return BY_TEXT[text] ?? 'other';
}

/** The WebSocket close code for a server-side close: 1001 "going away" on shutdown, else 1000 as the reference. */
export function wsCloseCode(reason: IMCloseReason): number {
  return reason === 'shutdown' ? 1001 : 1000;
}
