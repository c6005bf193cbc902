import type { IMCloseReason } from '../metrics/close-reason';
import { Packet } from '../protocol/packet';
import type { StoreRefusalReason } from '../store/message-store';
import { TransportKind } from './connection';
import { Session } from './session';

/** @internal Core events, with the live session, for the library's own subscribers (the cluster). */
export type IMCoreEvent =
  | { readonly type: 'online'; readonly userId: string; readonly session: Session }
  | { readonly type: 'offline'; readonly userId: string; readonly session: Session; readonly kickCode: number; readonly reason: string; readonly closeReason?: IMCloseReason }
  | { readonly type: 'delivered'; readonly userId: string; readonly fp: string; readonly packet: Packet }
  | { readonly type: 'lost'; readonly userId: string; readonly fp: string; readonly packet: Packet }
  | IMStoredEvent
  | IMStoreRefusedEvent
  | IMRedeliveredEvent
  | IMBridgedEvent;

/** A session as events describe it: plain data, safe to log or serialise. */
export interface IMSessionInfo {
  /** Process-unique session id (the number in log lines such as `tcp#12`). */
  readonly id: number;
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** A user came online (login succeeded on a session). */
export interface IMOnlineEvent { readonly type: 'online'; readonly userId: string; readonly session: IMSessionInfo; readonly firstLoginTime: number }
/**
 * A user went offline. `kickCode` is -1 unless a kick ended the session (1 duplicate
 * login, 2 kicked); `reason` says what ended it (`logout`, `kicked`, `superseded`,
 * `idle timeout`, `connection closed`, `relogin`, `shutdown`, or an error id such as `IM_QUEUE_OVERFLOW`).
 */
export interface IMOfflineEvent {
  readonly type: 'offline';
  readonly userId: string;
  readonly session: IMSessionInfo;
  readonly kickCode: number;
  readonly reason: string;
  /** Why the connection closed, from a closed set (`logout`, `idle-timeout`, `slow-consumer`, `shutdown`...); absent when the session stays open (a UDP kick, a relogin). */
  readonly closeReason?: IMCloseReason;
}
/** A tracked packet was ACKed by its recipient (`packet` is a copy). */
export interface IMDeliveredEvent { readonly type: 'delivered'; readonly userId: string; readonly fp: string; readonly packet: Packet }
/** A tracked packet ran out of retransmissions (`packet` is a copy). */
export interface IMLostEvent { readonly type: 'lost'; readonly userId: string; readonly fp: string; readonly packet: Packet }

/**
 * A message for `userId` went to the message store, to be delivered at its next
 * login: `offline` (the recipient was online nowhere), `undelivered` (its session
 * ended, or gave up, before the ACK).
 */
export interface IMStoredEvent { readonly type: 'stored'; readonly userId: string; readonly fp: string; readonly reason: 'offline' | 'undelivered'; readonly packet: Packet }
/** The message store refused a message for `userId` (`reason`: too-large, user-full, store-full, unavailable). */
export interface IMStoreRefusedEvent { readonly type: 'store-refused'; readonly userId: string; readonly fp: string; readonly reason: StoreRefusalReason; readonly packet: Packet }

/**
 * A stored message was written to `userId` at its login (`storedAt`: when the
 * store took it). Emitted while the backlog is written, so a notice the
 * application pushes to the user in answer arrives after the stored messages.
 */
export interface IMRedeliveredEvent { readonly type: 'redelivered'; readonly userId: string; readonly fp: string; readonly storedAt: number; readonly packet: Packet }

/** A packet crossed the MobileIMSDK-Web bridge: `out` confirmed by the broker, `in` consumed and handed to the recipient's server. */
export interface IMBridgedEvent { readonly type: 'bridged'; readonly direction: 'in' | 'out'; readonly userId: string; readonly fp?: string; readonly packet: Packet }

/** Session and delivery events, as published by `PushService.events$`: plain data only. */
export type IMEvent =
  | IMOnlineEvent | IMOfflineEvent | IMDeliveredEvent | IMLostEvent | IMStoredEvent | IMStoreRefusedEvent | IMRedeliveredEvent | IMBridgedEvent;

/** Plain data describing `session`. */
export function sessionInfo(session: Session): IMSessionInfo {
  return { id: session.id, transport: session.transport, remoteAddress: session.remoteAddress, remotePort: session.connection.remotePort };
}

/** The public, plain form of a core event: no live session, socket or shared packet. */
export function toPublicEvent(e: IMCoreEvent): IMEvent {
  switch (e.type) {
    case 'online':
      return { type: 'online', userId: e.userId, session: sessionInfo(e.session), firstLoginTime: e.session.firstLoginTime };
    case 'offline':
      return { type: 'offline', userId: e.userId, session: sessionInfo(e.session), kickCode: e.kickCode, reason: e.reason, ...(e.closeReason ? { closeReason: e.closeReason } : {}) };
    case 'bridged':
    case 'stored':
    case 'store-refused':
    case 'redelivered':
      return { ...e, packet: { ...e.packet } };
    default:
      return { type: e.type, userId: e.userId, fp: e.fp, packet: { ...e.packet } };
  }
}

/** Counters for operations and abuse signals; read them for metrics. */
export interface IMStats {
  packetsIn: number;
  badInput: number;
  unknownType: number;
  notLoggedIn: number;
  forgedSender: number;
  /** UDP packets dropped over the session's packet budget. */
  rateLimited: number;
  /** TCP/WS sessions closed because their peer did not read (outbound buffer over `maxBufferedBytes`). */
  slowConsumers: number;
  /** C2C resends from a paced session of messages already ACKed: ACKed again, not delivered twice. */
  c2cResendsSuppressed: number;
  /** Packets other than ACK, keepalive and logout ignored (not ACKed) during a graceful drain. */
  drainIgnored: number;
  /** Times a TCP or WebSocket session stopped being read because it was over its packet budget. */
  readPauses: number;
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
  /** Packets published to the MobileIMSDK-Web bridge and confirmed by the broker. */
  bridgedOut: number;
  /** Packets consumed from the bridge and delivered, stored or dropped by the offline path. */
  bridgedIn: number;
  /** Retransmitted C2C packets already bridged: only ACKed again. */
  bridgeDuplicates: number;
  /** Publishes that failed (broker down, nack, unroutable, no confirm in time): offline path. */
  bridgePublishFailed: number;
  /** Inbound bridge messages that are not a valid packet: acknowledged and dropped. */
  bridgePoison: number;
  /** Times the broker connection was lost. */
  bridgeOutages: number;
  /** Messages the message store accepted (offline C2C, stored pushes, undelivered QoS packets). */
  stored: number;
  /** Messages the message store refused (`IM_STORE_REFUSED`). */
  storeRefused: number;
  /** Stored messages written to their recipient at login. */
  storeRedelivered: number;
  /** C2C that found `limits.maxCrossNodeInFlight` sends of their session on the way to other nodes: the session's later packets waited. */
  crossNodeWaits: number;
  /** C2C and pushes sent to another node that did not answer in time (maybe delivered): no offline path, no ACK. */
  crossNodeUnknown: number;
  /** Messages on this node's cluster channel that were not a valid envelope of this version: ignored. */
  clusterEnvelopesRejected: number;
}

/** A zeroed {@link IMStats}. */
export function emptyStats(): IMStats {
  return {
    packetsIn: 0, badInput: 0, unknownType: 0, notLoggedIn: 0, forgedSender: 0, rateLimited: 0, slowConsumers: 0, drainIgnored: 0, c2cResendsSuppressed: 0, readPauses: 0,
    queueOverflow: 0, loginsAccepted: 0, loginsRefused: 0, kicks: 0, c2c: 0, c2cOffline: 0, c2s: 0,
    c2sDuplicates: 0, outboundTooLarge: 0, retransmits: 0, delivered: 0, lost: 0, idleTimeouts: 0, handlerErrors: 0,
    fieldTooLong: 0, loginsThrottled: 0, loginTimeouts: 0, unauthenticatedRefused: 0, unauthenticatedEvicted: 0,
    fdLimitRefused: 0, repliesSuppressed: 0,
    bridgedOut: 0, bridgedIn: 0, bridgeDuplicates: 0, bridgePublishFailed: 0, bridgePoison: 0, bridgeOutages: 0,
    stored: 0, storeRefused: 0, storeRedelivered: 0,
    crossNodeWaits: 0, crossNodeUnknown: 0, clusterEnvelopesRejected: 0,
  };
}
