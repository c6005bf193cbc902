import type { TransportKind } from './connection';

/**
 * A client session as handlers see it (`@IMSession()`): who it is, where it
 * came from, and the application's own data. Exported as `Session`; the
 * core's protocol state behind it is not part of the public API.
 */
export interface SessionView {
  /** Process-unique id, for logs. */
  readonly id: number;
  /** The user this session is logged in as, or null. */
  readonly userId: string | null;
  /** `firstLoginTime` sent in this session's login response. */
  readonly firstLoginTime: number;
  /** Server time of this session's login (the clock's ms), 0 before. */
  readonly loginAt: number;
  /** Time the session opened. */
  readonly openedAt: number;
  /** The session has ended; nothing more is processed or written. */
  readonly closed: boolean;
  /** True once login succeeded and until logout, kick or supersession. */
  readonly loggedIn: boolean;
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  /** Application data attached to the session (e.g. by a login handler). */
  readonly data: Record<string, unknown>;
  toString(): string;
}
