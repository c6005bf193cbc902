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

/** A packet crossed the MobileIMSDK-Web bridge: `out` confirmed by the broker, `in` consumed and handed to the recipient's server. */
export interface IMBridgedEvent { readonly type: 'bridged'; readonly direction: 'in' | 'out'; readonly userId: string; readonly fp?: string; readonly packet: Packet }

/** Session and delivery events, as published by `PushService.events$`. */
export type IMEvent = IMOnlineEvent | IMOfflineEvent | IMDeliveredEvent | IMLostEvent | IMBridgedEvent;

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
}

/** A zeroed {@link IMStats}. */
export function emptyStats(): IMStats {
  return {
    packetsIn: 0, badInput: 0, unknownType: 0, notLoggedIn: 0, forgedSender: 0, rateLimited: 0,
    queueOverflow: 0, loginsAccepted: 0, loginsRefused: 0, kicks: 0, c2c: 0, c2cOffline: 0, c2s: 0,
    c2sDuplicates: 0, outboundTooLarge: 0, retransmits: 0, delivered: 0, lost: 0, idleTimeouts: 0, handlerErrors: 0,
    bridgedOut: 0, bridgedIn: 0, bridgeDuplicates: 0, bridgePublishFailed: 0, bridgePoison: 0, bridgeOutages: 0,
  };
}
