import { ArgumentsHost } from '@nestjs/common';
import type { SessionView } from '../core/session-view';
import { LoginInfo } from '../protocol/payloads';
import { Packet } from '../protocol/packet';

/** Names of the IM events a handler can subscribe to. */
export type IMEventName =
  | 'login' | 'loginSuccess' | 'logout'
  | 'beforeC2S' | 'c2s'
  | 'c2c' | 'c2cDelivered' | 'c2cOffline'
  | 'messagesLost' | 'messageDelivered';

/** The execution context type of IM handlers: `context.getType() === 'im'`. */
export const IM_CONTEXT_TYPE = 'im';
/** Type of {@link IM_CONTEXT_TYPE}, for `context.getType<IMContextType>()`. */
export type IMContextType = typeof IM_CONTEXT_TYPE;

/**
 * Everything known about one IM event. It is the last argument of every IM
 * handler call, so guards, interceptors and filters can read it with {@link getIMEvent}.
 */
export interface IMEventContext {
  readonly event: IMEventName;
  /** The packet concerned, if any. */
  readonly packet?: Packet;
  /** The session that sent it (for messageDelivered: the session that ACKed). */
  readonly session?: SessionView;
  /** The user concerned (sender, or the user logging in/out). */
  readonly userId?: string;
  /** Login info (login event). */
  readonly loginInfo?: LoginInfo;
  /** Kick code (logout event; -1 without a kick). */
  readonly kickCode?: number;
  /** Lost packets (messagesLost event). */
  readonly packets?: Packet[];
}

/** True when a guard, interceptor or filter runs for an IM handler. */
export function isIMContext(host: ArgumentsHost): boolean {
  return host.getType<string>() === IM_CONTEXT_TYPE;
}

/** The {@link IMEventContext} of an IM handler's execution context or arguments host. */
export function getIMEvent(host: ArgumentsHost): IMEventContext {
  const args = host.getArgs();
  return args[args.length - 1] as IMEventContext;
}
