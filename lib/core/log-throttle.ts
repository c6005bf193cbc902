/**
 * Lets one log line through per interval and counts the ones held back, so a
 * flood (abuse, handler errors, poison messages, failed publishes) is reported without flooding the log.
 */
export class LogThrottle {
  private loggedAt = -Infinity;
  private held = 0;

  constructor(private readonly intervalMs: number) {}

  /** The line to log now (with the count of those held back since the last one), or undefined to stay quiet. */
  next(line: string, now: number): string | undefined {
    if (now - this.loggedAt < this.intervalMs) {
      this.held++;
      return undefined;
    }
    const more = this.held ? ` (and ${this.held} more since the last report)` : '';
    this.loggedAt = now;
    this.held = 0;
    return line + more;
  }
}
