import { IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { NO_USER_ID, PacketType, SERVER_USER_ID } from '../protocol/packet-type';
import { kickoutPacket, LoginInfo, loginResponse, parseLoginInfo } from '../protocol/payloads';
import { KickoutCode, NO_KICK } from '../protocol/protocol-codes';
import type { CoreContext } from './core-context';
import { IMRefusal, isRefusal, isThenable } from './core-hooks';
import type { Delivery } from './delivery';
import type { Outbound } from './outbound';
import type { Session } from './session';
import type { SessionLifecycle } from './session-lifecycle';
import { sessionLog } from './session-log';

/**
 * Login and who holds a user id (PROTOCOL.md §7): the login packet's checks,
 * the throttle of failed logins, the application's verification (synchronous
 * or not), and on success the response, the online table, the hand-off out
 * of the unauthenticated limits and the stored backlog. The duplicate-login
 * rules live here too, for a login on this node and for one on another node
 * (`supersede`, `rejectStaleLogin`): a newer device kicks the old session, the
 * same device retires its stale connection, an older device is refused. So do
 * the admin kicks.
 */
export class Login {
  constructor(
    private readonly ctx: CoreContext,
    private readonly lifecycle: SessionLifecycle,
    private readonly out: Outbound,
    private readonly delivery: Delivery,
  ) {}

  /** §7.1: a login packet; verification may be asynchronous (the session waits for it). */
  login(session: Session, p: Packet): Promise<unknown> | void {
    const parsed = parseLoginInfo(p.dataContent);
    if (!parsed.ok) {
      if (parsed.reason === 'malformed') return this.lifecycle.badInput(session, IMErrors.BAD_LOGIN_INFO, 'not a JSON object');
      // QUIRK-19: refused silently; TCP/WS close, a UDP session may log in later.
      this.ctx.logger.debug(sessionLog(session, 'no loginUserId', IMErrors.BAD_LOGIN_INFO.id));
      if (!session.connection.connectionless) this.lifecycle.closeSession(session, 'bad-input', IMErrors.BAD_LOGIN_INFO.id);
      return;
    }
    const info = parsed.info;
    // "0" and "-1" can never be reached (PROTOCOL.md §17).
    if (info.loginUserId === SERVER_USER_ID || info.loginUserId === NO_USER_ID) {
      return this.loginFailed(session, IMErrors.RESERVED_USER_ID.wireCode);
    }
    if (info.loginUserId.length > this.ctx.options.limits.maxUserIdLength) {
      this.ctx.stats.fieldTooLong++;
      this.ctx.metrics.badInput(session.transport, IMErrors.FIELD_TOO_LONG.id);
      this.ctx.abuse.session(session, IMErrors.FIELD_TOO_LONG.id, `loginUserId of ${info.loginUserId.length} chars`);
      return this.loginFailed(session, IMErrors.FIELD_TOO_LONG.wireCode);
    }
    if (session.userId !== null) {
      // §7.4: re-login as the same user needs no verification.
      if (session.userId === info.loginUserId) return this.completeLogin(session, info);
      // QUIRK-4 fix: a different user id is a logout of the old one plus a full, verified login.
      this.lifecycle.detach(session, NO_KICK, 'relogin');
    }
    if (!this.ctx.hooks.verifyLogin) {
      this.ctx.logger.warn(sessionLog(session, 'login refused: no @OnLogin handler is registered', IMErrors.LOGIN_REFUSED.id));
      return this.loginFailed(session, IMErrors.LOGIN_REFUSED.wireCode);
    }
    if (!this.ctx.loginThrottle.allows(session.remoteAddress, info.loginUserId, this.ctx.clock.now())) {
      this.ctx.stats.loginsThrottled++;
      this.ctx.metrics.rateLimited(session.transport, IMErrors.LOGIN_THROTTLED.id);
      this.ctx.abuse.session(session, IMErrors.LOGIN_THROTTLED.id, `as ${info.loginUserId}`);
      return this.loginFailed(session, IMErrors.LOGIN_THROTTLED.wireCode);
    }
    const verdict = this.ctx.hooks.verifyLogin(info, session, p);
    if (isThenable(verdict)) return verdict.then((v) => this.afterVerify(session, info, v));
    return this.afterVerify(session, info, verdict);
  }

  private afterVerify(session: Session, info: LoginInfo, verdict: number | IMRefusal): Promise<unknown> | void {
    if (session.closed) return;
    const code = isRefusal(verdict) ? verdict.code : verdict;
    if (code !== 0) {
      this.ctx.loginThrottle.failed(session.remoteAddress, info.loginUserId, this.ctx.clock.now());
      return this.loginFailed(session, code);
    }
    this.ctx.loginThrottle.succeeded(session.remoteAddress, info.loginUserId);
    return this.completeLogin(session, info);
  }

  private loginFailed(session: Session, code: number): void {
    this.ctx.stats.loginsRefused++;
    this.ctx.metrics.login(session.transport, 'refused');
    this.out.write(session, loginResponse(code, '', -1));
    if (!session.connection.connectionless) this.lifecycle.closeSession(session, 'login-refused', IMErrors.LOGIN_REFUSED.id);
  }

  /** §7.1 steps 6-7: response, duplicate-login rules, online table, login-success hook. */
  private completeLogin(session: Session, info: LoginInfo): void {
    const userId = info.loginUserId;
    const clientTime = info.firstLoginTime;
    const firstLoginTime = clientTime <= 0 ? this.ctx.clock.now() : clientTime;
    // The response to a successful login is exempt from the UDP no-amplification cap.
    this.ctx.metrics.packetOut(session.transport, PacketType.LOGIN_RESPONSE);
    this.out.send(session, this.out.encode(loginResponse(0, userId, firstLoginTime)));
    if (session.closed) return; // a slow consumer
    const old = this.ctx.online.get(userId);
    if (old && old !== session && this.resolveDuplicate(old, clientTime) === 'stale') {
      // A stale device (QUIRK-13, replicated): it got code 0, now it is kicked and never logs in.
      return this.kickStale(session, userId);
    }
    const relogin = session.userId === userId;
    session.userId = userId;
    session.firstLoginTime = firstLoginTime;
    session.clientLoginTime = clientTime;
    session.notifyUndeliverable = info.notifyUndeliverable === true;
    session.loginAt = this.ctx.clock.now();
    session.kickCode = NO_KICK;
    if (!session.authenticated) {
      session.authenticated = true;
      session.tokens = this.ctx.options.limits.burst;
      this.ctx.admission.authenticated(session);
    }
    this.ctx.online.set(userId, session);
    this.ctx.stats.loginsAccepted++;
    this.ctx.metrics.login(session.transport, 'accepted');
    if (!relogin && this.ctx.events.observed) this.ctx.events.next({ type: 'online', userId, session });
    if (this.ctx.store && !relogin) this.delivery.deliverBacklog(session, userId);
    // Not awaited: a handler that pushes to this user and awaits the ACK would
    // otherwise hold back that very ACK in the session's queue.
    this.ctx.fireAndForget(this.ctx.hooks.loginSuccess?.(userId, info.extra, session));
  }

  /**
   * The duplicate-login rules (§7.3) for a new login with `clientTime` against
   * the user's current session `old`: kick it, retire it, or find the new
   * login stale (the caller refuses it). Shared by local and cross-node logins.
   */
  private resolveDuplicate(old: Session, clientTime: number): 'kicked' | 'retired' | 'stale' {
    if (clientTime <= 0 || clientTime > old.firstLoginTime) {
      this.kickSession(old, KickoutCode.DUPLICATE_LOGIN);
      return 'kicked';
    }
    if (clientTime === old.firstLoginTime) {
      this.retire(old);
      return 'retired';
    }
    return 'stale';
  }

  /** Kicks a stale device's new session (code 1) and closes it (TCP/WS); it never becomes logged in. */
  private kickStale(session: Session, userId: string): void {
    this.ctx.stats.kicks++;
    this.out.write(session, kickoutPacket(userId, KickoutCode.DUPLICATE_LOGIN));
    session.kickCode = KickoutCode.DUPLICATE_LOGIN;
    if (!session.connection.connectionless) this.lifecycle.closeSession(session, 'stale-login', 'stale login');
  }

  /** QUIRK-2 fix: the same device reconnected; its stale connection is closed without a kick-out. */
  private retire(old: Session): void {
    // Off the table here: closeSession's detach() no longer sees the user (a ghost entry when the new session is on another node).
    if (old.userId !== null) this.ctx.online.removeIf(old.userId, old);
    old.userId = null;
    if (!old.connection.connectionless) this.lifecycle.closeSession(old, 'superseded');
  }

  /** Sends a kick-out, reports the user offline with the kick code, and closes TCP/WS. */
  private kickSession(session: Session, code: number, reason?: string): void {
    this.ctx.stats.kicks++;
    this.out.write(session, kickoutPacket(session.userId as string, code, reason));
    session.kickCode = code;
    // QUIRK-3/QUIRK-20 fix: detach the user (UDP too) and tell the logout hook why.
    this.lifecycle.detach(session, code, code === KickoutCode.DUPLICATE_LOGIN ? 'duplicate login' : 'kicked');
    if (!session.connection.connectionless) this.lifecycle.closeSession(session, 'kicked');
  }

  // ---------------------------------------------------------------- admin kicks and other nodes

  /** Kicks `userId` on this node with code 2 (application/admin) and an optional reason. False if not here. */
  kick(userId: string, reason?: string): boolean {
    const session = this.ctx.online.get(userId);
    if (!session) return false;
    this.kickSession(session, KickoutCode.KICKED_BY_ADMIN, reason);
    return true;
  }

  /** Kicks `userId` wherever it is online (this node or, in a cluster, another). */
  kickAnywhere(userId: string, reason?: string): Promise<boolean> {
    if (this.kick(userId, reason)) return Promise.resolve(true);
    return this.ctx.remote ? this.ctx.remote.kick(userId, reason) : Promise.resolve(false);
  }

  /**
   * Another node's login of `userId` supersedes this node's session (the
   * duplicate-login rules across nodes, PROTOCOL.md §7.3). Returns 'stale' when
   * the new login is the older device and must be refused instead.
   */
  supersede(userId: string, clientTime: number, sessionId?: number): 'kicked' | 'retired' | 'stale' | 'absent' {
    const old = this.ctx.online.get(userId);
    // `sessionId`: only the session the claim replaced in Redis; a newer one here makes its own claim.
    if (old && sessionId !== undefined && old.id !== sessionId) return 'absent';
    return old ? this.resolveDuplicate(old, clientTime) : 'absent';
  }

  /** Refuses a login that another node found stale (its device logged in earlier than the online one). */
  rejectStaleLogin(userId: string, session: Session): void {
    if (session.userId !== userId || session.closed) return;
    // Not detach(): the logout hook should not see a login that never really happened.
    session.userId = null;
    this.ctx.online.removeIf(userId, session);
    this.kickStale(session, userId);
  }
}
