import { Session } from './session';

/**
 * The online table: user id → the one session that receives that user's
 * packets, shared by all transports (PROTOCOL.md §4).
 */
export class OnlineTable {
  private readonly byUser = new Map<string, Session>();

  get(userId: string): Session | undefined {
    return this.byUser.get(userId);
  }

  set(userId: string, session: Session): void {
    this.byUser.set(userId, session);
  }

  /** Removes the entry only if it still points at `session`; returns whether it did. */
  removeIf(userId: string, session: Session): boolean {
    if (this.byUser.get(userId) !== session) return false;
    this.byUser.delete(userId);
    return true;
  }

  /** True when `session` is the table entry of its own user. */
  isCurrent(session: Session): boolean {
    return session.userId !== null && this.byUser.get(session.userId) === session;
  }

  get size(): number {
    return this.byUser.size;
  }

  userIds(): IterableIterator<string> {
    return this.byUser.keys();
  }

  sessions(): IterableIterator<Session> {
    return this.byUser.values();
  }
}
