import { SetMetadata } from '@nestjs/common';
import { IMEventName } from './im-event-context';

/** Metadata key under which IM handler decorators record their event. */
export const IM_HANDLER_METADATA = 'nestjs-im:handler';

/** Options of an IM handler decorator. */
export interface IMHandlerOptions {
  /** For `@OnC2S`: only packets with this `typeu` (or one of these). */
  typeu?: number | number[];
}

/** What an IM handler decorator records on a method. */
export interface IMHandlerMetadata {
  event: IMEventName;
  options: IMHandlerOptions;
}

const handler = (event: IMEventName, options: IMHandlerOptions = {}) =>
  SetMetadata<string, IMHandlerMetadata>(IM_HANDLER_METADATA, { event, options });

/**
 * Verifies a login: `(info: LoginInfo, session, ctx)`. Return `0`/`true`/nothing
 * to accept, `false` or a non-zero code to refuse, or throw an `IMException(code)`.
 * Without any `@OnLogin` handler every login is refused.
 */
export const OnLogin = () => handler('login');
/**
 * After a successful login: `(userId, session, ctx)`. It runs beside the
 * session's later packets (not before them), so it may await pushes to the user.
 */
export const OnLoginSuccess = () => handler('loginSuccess');
/** A user went offline: `(userId, session, ctx)`; `ctx.kickCode` is -1, 1 (duplicate login) or 2 (kick). */
export const OnLogout = () => handler('logout');
/** C2S before the ACK: `(packet, session, ctx)`; return false to drop it unacknowledged. */
export const BeforeC2S = () => handler('beforeC2S');
/** C2S after the ACK, once per fingerprint: `(packet, session, ctx)`; optionally only for some `typeu`. */
export const OnC2S = (options: IMHandlerOptions = {}) => handler('c2s', options);
/** C2C before forwarding: `(packet, session, ctx)`; return false, throw, or deny in a guard to refuse it. */
export const OnC2C = () => handler('c2c');
/** C2C written to the recipient: `(packet, session, ctx)`. */
export const OnC2CDelivered = () => handler('c2cDelivered');
/**
 * C2C recipient offline (or the write failed): `(packet, session, ctx)`.
 * Return true once the message is stored, and the sender gets its ACK.
 */
export const OnC2COffline = () => handler('c2cOffline');
/** Tracked packets (C2C or S2C) that got no ACK after retransmission: `(packets, null, ctx)`. */
export const OnMessagesLost = () => handler('messagesLost');
/** A tracked packet was ACKed by its recipient: `(packet, session, ctx)`. */
export const OnMessageDelivered = () => handler('messageDelivered');
