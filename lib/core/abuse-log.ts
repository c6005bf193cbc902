import { Logger } from '@nestjs/common';
import { LogThrottle } from './log-throttle';
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
  /** Process-wide kinds (no session yet, e.g. a refused connection). */
  private readonly global = new Map<string, LogThrottle>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Abuse by one session: the line names the session (id, transport, user, remote address). */
  session(session: Session, kind: string, detail = ''): void {
    const line = throttleOf((session.abuseLoggedAt ??= new Map()), kind, this.intervalMs).next(detail ? logText(detail) : '', this.now());
    // A record, so that a JSON logger gets session id, user, transport, address and kind as fields.
    if (line !== undefined) this.logger.warn(sessionLog(session, line.trim(), kind));
  }

  /** Abuse with no session yet (a refused connection): logged once per kind per interval. */
  process(kind: string, message: string): void {
    const line = throttleOf(this.global, kind, this.intervalMs).next(`${kind}: ${message}`, this.now());
    if (line !== undefined) this.logger.warn(line);
  }
}

/** The throttle of `kind` in `throttles`, made on first use. */
export function throttleOf(throttles: Map<string, LogThrottle>, kind: string, intervalMs: number): LogThrottle {
  let throttle = throttles.get(kind);
  if (!throttle) throttles.set(kind, (throttle = new LogThrottle(intervalMs)));
  return throttle;
}
