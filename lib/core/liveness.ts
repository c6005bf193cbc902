import { IMErrors } from '../errors/im-error-codes';
import type { ClockTimer } from './clock';
import type { CoreContext } from './core-context';
import type { Session } from './session';
import type { SessionLifecycle } from './session-lifecycle';
import type { SessionPipeline } from './session-pipeline';
import { TimerWheel } from './timer-wheel';

/**
 * The core's one shared tick and what it checks: a session that has not
 * logged in by `limits.loginTimeoutMs`, or has been silent past its
 * transport's idle timeout (keepalives count as activity), is closed; paused
 * sessions whose budget refilled are read again; the send table retransmits
 * what is due; the dedup table forgets what expired. Sessions sit in a timer
 * wheel (no timer per session); a session is looked at only when its deadline
 * comes round, and rescheduled if it was active meanwhile.
 */
export class Liveness {
  private readonly idleWheel: TimerWheel<Session>;
  private ticker?: ClockTimer;

  constructor(
    private readonly ctx: CoreContext,
    private readonly lifecycle: SessionLifecycle,
    private readonly pipeline: SessionPipeline,
  ) {
    this.idleWheel = new TimerWheel<Session>(Math.max(ctx.options.tickMs, 250), ctx.clock.now(), (s, t) => this.checkIdle(s, t));
  }

  /** A new session: its first check is at the earlier of the login deadline and the idle timeout. */
  watch(session: Session, now: number): void {
    this.idleWheel.schedule(session, now + Math.min(session.connection.idleTimeoutMs, this.ctx.options.limits.loginTimeoutMs));
  }

  /** Starts the shared timer tick (idle timeouts, QoS). */
  start(): void {
    if (this.ticker) return;
    this.ticker = this.ctx.clock.every(this.ctx.options.tickMs, () => this.tick());
  }

  /** Runs due timers now; the tick calls it, and so can tests. */
  tick(): void {
    const now = this.ctx.clock.now();
    this.idleWheel.advance(now);
    this.pipeline.resumePaused();
    this.ctx.sendQoS.tick(now);
    this.ctx.dedup.purge(now);
  }

  /** Stops the tick and forgets every deadline. */
  stop(): void {
    this.ticker?.cancel();
    this.ticker = undefined;
    this.idleWheel.clear();
  }

  private checkIdle(session: Session, now: number): void {
    if (session.closed) return;
    const { ctx } = this;
    const loginDeadline = session.authenticated ? Infinity : session.openedAt + ctx.options.limits.loginTimeoutMs;
    if (now >= loginDeadline) {
      ctx.stats.loginTimeouts++;
      ctx.abuse.process(IMErrors.LOGIN_TIMEOUT.id, `${session} closed: ${IMErrors.LOGIN_TIMEOUT.message()}`);
      this.lifecycle.closeSession(session, 'login-timeout', IMErrors.LOGIN_TIMEOUT.id);
      return;
    }
    const deadline = session.lastActivity + session.connection.idleTimeoutMs;
    if (now < deadline) {
      this.idleWheel.schedule(session, Math.min(deadline, loginDeadline));
      return;
    }
    ctx.stats.idleTimeouts++;
    this.lifecycle.closeSession(session, 'idle-timeout', 'idle timeout');
  }
}
