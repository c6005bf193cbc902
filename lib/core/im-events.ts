import { Packet } from '../protocol/packet';
import { Session } from './session';

/** A user came online (login succeeded on a session). */
export interface IMOnlineEvent { readonly type: 'online'; readonly userId: string; readonly session: Session }
/** A user went offline; `kickCode` is -1 unless a kick ended the session. */
export interface IMOfflineEvent { readonly type: 'offline'; readonly userId: string; readonly session: Session; readonly kickCode: number }
/** A tracked packet was ACKed by its recipient. */
export interface IMDeliveredEvent { readonly type: 'delivered'; readonly userId: string; readonly fp: string; readonly packet: Packet }
/** A tracked packet ran out of retransmissions. */
export interface IMLostEvent { readonly type: 'lost'; readonly userId: string; readonly fp: string; readonly packet: Packet }

/** Session and delivery events, as published by `PushService.events$`. */
export type IMEvent = IMOnlineEvent | IMOfflineEvent | IMDeliveredEvent | IMLostEvent;

/** Counters for operations and abuse signals; read them for metrics. */
export interface IMStats {
  packetsIn: number;
  badInput: number;
  unknownType: number;
  notLoggedIn: number;
  forgedSender: number;
  rateLimited: number;
  queueOverflow: number;
  loginsAccepted: number;
  loginsRefused: number;
  kicks: number;
  c2c: number;
  c2cOffline: number;
  c2s: number;
  c2sDuplicates: number;
  outboundTooLarge: number;
  retransmits: number;
  delivered: number;
  lost: number;
  idleTimeouts: number;
  handlerErrors: number;
  /** `fp`, user id or recipient over its length limit. */
  fieldTooLong: number;
  /** Logins refused by the failed-login throttle before `@OnLogin` ran. */
  loginsThrottled: number;
  /** Connections closed because they did not log in within `limits.loginTimeoutMs`. */
  loginTimeouts: number;
  /** Connections refused: too many unauthenticated sessions from their address. */
  unauthenticatedRefused: number;
  /** Unauthenticated sessions closed to admit newer ones (`limits.maxUnauthenticated`). */
  unauthenticatedEvicted: number;
  /** Connections refused near the open-file limit. */
  fdLimitRefused: number;
  /** Replies to unauthenticated UDP peers not sent because they were larger than the datagram. */
  repliesSuppressed: number;
}

/** A zeroed {@link IMStats}. */
export function emptyStats(): IMStats {
  return {
    packetsIn: 0, badInput: 0, unknownType: 0, notLoggedIn: 0, forgedSender: 0, rateLimited: 0,
    queueOverflow: 0, loginsAccepted: 0, loginsRefused: 0, kicks: 0, c2c: 0, c2cOffline: 0, c2s: 0,
    c2sDuplicates: 0, outboundTooLarge: 0, retransmits: 0, delivered: 0, lost: 0, idleTimeouts: 0, handlerErrors: 0,
    fieldTooLong: 0, loginsThrottled: 0, loginTimeouts: 0, unauthenticatedRefused: 0, unauthenticatedEvicted: 0,
    fdLimitRefused: 0, repliesSuppressed: 0,
  };
}
