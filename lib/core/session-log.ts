import { inspect } from 'util';
import { escapeControls, logText } from './log-text';
import type { Session } from './session';

/**
 * A log message about one session with its fields kept apart: a JSON logger
 * (Nest's `ConsoleLogger` with `json: true`) prints `sessionId`, `userId`,
 * `transport`, `remoteAddress` and `reason` as fields; a text logger prints
 * the familiar one-line form.
 */
export class IMSessionLogRecord {
  constructor(
    readonly message: string,
    readonly sessionId: number | undefined,
    readonly userId: string | null | undefined,
    readonly transport: string | undefined,
    readonly remoteAddress: string | undefined,
    readonly reason: string | undefined,
    /** Why a session closed, from the closed set `IMCloseReason` (close logs only). */
    readonly closeReason?: string,
  ) {}

  /** The JSON form: every field present in the record. */
  toJSON(): Record<string, unknown> {
    return {
      msg: this.message,
      sessionId: this.sessionId,
      userId: this.userId ?? undefined,
      transport: this.transport,
      remoteAddress: this.remoteAddress,
      reason: this.reason,
      ...(this.closeReason ? { closeReason: this.closeReason } : {}),
    };
  }

  /** The text form, as the library's logs read before they had fields. */
  toString(): string {
    // User-supplied text (user ids, error messages) never starts a new line or drives a terminal.
    const who = this.sessionId === undefined ? 'hook' : `${this.transport}#${this.sessionId}(${this.userId == null ? 'anonymous' : logText(this.userId)}@${this.remoteAddress})`;
    return `${who}: ${this.reason ? `${this.reason} ` : ''}${escapeControls(this.message)}${this.closeReason ? ` (${this.closeReason})` : ''}`;
  }

  /** What a text logger (util.inspect) prints. */
  [inspect.custom](): string {
    return this.toString();
  }
}

/** A log record about `session` (or an application hook, without one). */
export function sessionLog(session: Session | undefined, message: string, reason?: string, closeReason?: string): IMSessionLogRecord {
  return new IMSessionLogRecord(message, session?.id, session?.userId, session?.transport, session?.remoteAddress, reason, closeReason);
}
