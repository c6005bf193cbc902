import { Injectable } from '@nestjs/common';
import { UsersService } from '../users/users.service';

/** A block command named a user the store does not know. */
export class UnknownUserError extends Error {
  constructor(readonly userId: string) {
    super(`no such user: ${userId}`);
  }
}

/** Most users one user can block; bounds the in-memory lists. */
const MAX_BLOCKED = 1000;

/** Who blocked whom (in memory, like the rest of the sample's state). */
@Injectable()
export class BlockListService {
  private readonly blocked = new Map<string, Set<string>>();

  constructor(private readonly users: UsersService) {}

  /** `owner` no longer receives messages from `target`. */
  block(owner: string, target: string): void {
    if (!this.users.exists(target)) throw new UnknownUserError(target);
    let list = this.blocked.get(owner);
    if (!list) this.blocked.set(owner, (list = new Set()));
    if (list.size < MAX_BLOCKED) list.add(target);
  }

  unblock(owner: string, target: string): void {
    this.blocked.get(owner)?.delete(target);
  }

  /** True when `recipient` has blocked `sender`. */
  isBlocked(recipient: string, sender: string): boolean {
    return this.blocked.get(recipient)?.has(sender) ?? false;
  }
}
