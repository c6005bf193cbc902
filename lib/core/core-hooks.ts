import { LoginInfo } from '../protocol/payloads';
import { Packet } from '../protocol/packet';
import { Session } from './session';

/** A value or a promise of it: every hook may be synchronous or asynchronous. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * True for a promise (any thenable). The core tests a hook's result with it and
 * goes on synchronously otherwise: a synchronous handler costs no microtask hop.
 */
export const isThenable = (v: unknown): v is Promise<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as Promise<unknown>).then === 'function';

/**
 * A handler's answer where it may refuse: `true`/`undefined` lets the packet
 * through, `false` drops it silently (the reference's veto), an {@link IMRefusal}
 * drops it and tells the client.
 */
export type HookVerdict = boolean | void | IMRefusal;

/** A refusal reported to the client with a MobileIMSDK error code. */
export interface IMRefusal {
  readonly refused: true;
  readonly code: number;
  readonly message: string;
}

/** Builds an {@link IMRefusal}. */
export function refusal(code: number, message: string): IMRefusal {
  return { refused: true, code, message };
}

/** True for an {@link IMRefusal}. */
export function isRefusal(v: unknown): v is IMRefusal {
  return typeof v === 'object' && v !== null && (v as IMRefusal).refused === true;
}

/**
 * What the core calls into the application, in the reference's order
 * (PROTOCOL.md §10.7). The handler explorer builds it from decorated methods;
 * every hook is optional and absent hooks cost nothing on the hot path.
 */
export interface IMCoreHooks {
  /** Login verification: 0 accepts, any other number rejects with that code. */
  verifyLogin?(info: LoginInfo, session: Session, packet: Packet): MaybePromise<number | IMRefusal>;
  /** After the login response is written and the online table updated. */
  loginSuccess?(userId: string, extra: string | undefined, session: Session): MaybePromise<void>;
  /** The user went offline (kickCode: -1, or the kick-out code). */
  logout?(userId: string, session: Session, kickCode: number): MaybePromise<void>;
  /** C2S before ACK and dedup; may veto. */
  beforeC2S?(packet: Packet, session: Session): MaybePromise<HookVerdict>;
  /** C2S after ACK, skipped for duplicates; a refusal is reported to the client. */
  c2s?(packet: Packet, session: Session): MaybePromise<HookVerdict>;
  /** C2C before forwarding; may veto. */
  c2c?(packet: Packet, session: Session): MaybePromise<HookVerdict>;
  /** C2C written to the recipient; the session is null for a packet that came over the bridge. */
  c2cDelivered?(packet: Packet, session: Session | null): MaybePromise<void>;
  /** C2C recipient offline or write failed; `true` means stored, and the sender is ACKed. Null session: came over the bridge. */
  c2cOffline?(packet: Packet, session: Session | null): MaybePromise<boolean>;
  /** Tracked packets that were never ACKed. */
  messagesLost?(packets: Packet[]): MaybePromise<void>;
  /** A tracked packet was ACKed by its recipient. */
  messageDelivered?(fp: string, userId: string, packet: Packet, session: Session): MaybePromise<void>;
}
