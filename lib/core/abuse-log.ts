import { Logger } from '@nestjs/common';
import { logText } from './log-text';
import { Session } from './session';
import { sessionLog } from './session-log';

/**
 * Logs abuse (rate limits, bad input, throttled logins...) at warn level once
 * per session and kind per interval, with how many were suppressed meanwhile:
 * a flood must not become a flood of log lines. Counting is the caller's job
 * (`IMStats`); this only decides what reaches the log.
 */
export class AbuseLog {
  /** Last time each process-wide kind (no session) was logged, and what was suppressed since. */
  private readonly global = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Abuse by one session: the line names the session (id, transport, user, remote address). */
  session(session: Session, kind: string, detail = ''): void {
    const now = this.now();
    const seen = (session.abuseLoggedAt ??= new Map());
    const last = seen.get(kind);
    if (last && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (+${last.suppressed} more since last logged)` : '';
    seen.set(kind, { at: now, suppressed: 0 });
    // A record, so that a JSON logger gets session id, user, transport, address and kind as fields.
    this.logger.warn(sessionLog(session, `${detail ? logText(detail) : ''}${more}`.trim(), kind));
  }

  /** Abuse with no session yet (a refused connection): logged once per kind per interval. */
  process(kind: string, message: string): void {
    const now = this.now();
    const last = this.global.get(kind);
    if (last && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (+${last.suppressed} more since last logged)` : '';
    this.global.set(kind, { at: now, suppressed: 0 });
    this.logger.warn(`${kind}: ${message}${more}`);
  }
}
