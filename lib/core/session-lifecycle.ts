import { IMErrorDefinition, IMErrors } from '../errors/im-error-codes';
import type { IMCloseReason } from '../metrics/close-reason';
import type { IMConnection, TransportKind } from './connection';
import type { CoreContext } from './core-context';
import { Session } from './session';
import { sessionLog } from './session-log';
import type { StorePath } from './store-path';

/**
 * How sessions begin and end: connection admission, opening, closing (by the
 * core or because the connection went), and detaching a session's user, which
 * takes the user offline when that session was the user's table entry (its
 * unACKed packets go to the store path, the `offline` event and the logout
 * hook follow). Bad input ends a stream session here too. Every other part
 * ends a session through {@link closeSession}.
 */
export class SessionLifecycle {
  constructor(
    private readonly ctx: CoreContext,
    private readonly storePath: StorePath,
  ) {}

  /**
   * Connection admission, asked by a transport before it opens a session for
   * `remoteAddress` (`stream`: TCP or WebSocket, which hold a file descriptor).
   * Returns the refusal, or null to go on; to admit it may close the oldest
   * session that has not logged in (`limits.maxUnauthenticated`).
   */
  admit(transport: TransportKind, remoteAddress: string, stream: boolean): IMErrorDefinition | null {
    const { ctx } = this;
    const verdict = ctx.admission.check(remoteAddress, stream);
    if (!verdict.admit) {
      if (verdict.error === IMErrors.FD_LIMIT) ctx.stats.fdLimitRefused++;
      else ctx.stats.unauthenticatedRefused++;
      ctx.metrics.refused(transport, verdict.error.id);
      ctx.abuse.process(verdict.error.id, `${transport} connection from ${remoteAddress} refused: ${verdict.error.message()}`);
      return verdict.error;
    }
    if (verdict.evict) {
      ctx.stats.unauthenticatedEvicted++;
      ctx.abuse.process(IMErrors.UNAUTHENTICATED_EVICTED.id, `${verdict.evict} closed: ${ctx.options.limits.maxUnauthenticated} sessions have not logged in`);
      this.closeSession(verdict.evict, 'evicted', IMErrors.UNAUTHENTICATED_EVICTED.id);
    }
    return null;
  }

  /** A transport opened a session (TCP accept, WebSocket upgrade, first UDP datagram). */
  open(connection: IMConnection, now: number): Session {
    const { limits } = this.ctx.options;
    const session = new Session(connection, now, limits.anonymousBurst, limits.controlBurst);
    this.ctx.sessions.add(session);
    this.ctx.admission.opened(session);
    this.ctx.metrics.connectionOpened(connection.transport);
    return session;
  }

  /** The transport's connection is gone (peer close, error, or our own close completing). */
  connectionClosed(session: Session): void {
    if (!this.ctx.sessions.delete(session)) return;
    this.ctx.admission.closed(session);
    session.closeReason ??= 'peer-closed';
    this.ctx.metrics.connectionClosed(session.transport, session.closeReason);
    session.closed = true;
    session.queue = null;
    this.detach(session, session.kickCode, 'connection closed');
  }

  /**
   * Ends a session: detaches its user and closes (TCP/WS) or forgets (UDP) the
   * connection. `detail`: the text of the `offline` event's `reason` and of the
   * log line (an error id, or the reason itself).
   */
  closeSession(session: Session, reason: IMCloseReason, detail: string = reason): void {
    if (session.closed) return;
    this.ctx.logger.debug(sessionLog(session, 'closing', detail, reason));
    session.closed = true;
    session.closeReason = reason;
    session.queue = null;
    this.detach(session, session.kickCode, detail);
    if (this.ctx.sessions.delete(session)) this.ctx.admission.closed(session);
    this.ctx.metrics.connectionClosed(session.transport, reason);
    session.connection.close(reason);
  }

  /** Closes every session (graceful shutdown). */
  closeAll(reason: IMCloseReason): void {
    this.ctx.shuttingDown = true;
    for (const s of [...this.ctx.sessions]) this.closeSession(s, reason);
  }

  /** Takes the user off the session; if the session was the table entry, the user goes offline. */
  detach(session: Session, kickCode: number, reason: string): void {
    const userId = session.userId;
    if (userId === null) return;
    const { ctx } = this;
    session.userId = null;
    if (!ctx.online.removeIf(userId, session)) return;
    session.held = null;
    // Unacknowledged packets of a session that ended: kept for the next login (or reported lost).
    const pending = ctx.sendQoS.takeRecipient(userId);
    if (pending.length > 0) this.storePath.undelivered(pending, `session ended (${reason})`);
    if (ctx.events.observed) ctx.events.next({ type: 'offline', userId, session, kickCode, reason, closeReason: session.closeReason });
    ctx.fireAndForget(ctx.hooks.logout?.(userId, session, kickCode));
  }

  /** Input that is not a packet (or not a valid one): counted and logged; stream sessions close, UDP keeps the session. */
  badInput(session: Session, error: IMErrorDefinition, detail: string): void {
    this.ctx.stats.badInput++;
    this.ctx.metrics.badInput(session.transport, error.id);
    this.ctx.abuse.session(session, error.id, detail);
    // The reference answers bad input by closing (TCP/WS); on UDP we keep the session.
    if (!session.connection.connectionless) this.closeSession(session, 'bad-input', error.id);
  }
}
