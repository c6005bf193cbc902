import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'crypto';
import { APP_CONFIG, AppConfig } from '../app.config';
import { DEFAULT_SEED_USERS, loadSeedFile } from './seed-users';

interface StoredUser {
  userId: string;
  displayName: string;
  /** SHA-256 of the token: fixed length, so the comparison below is constant time whatever the input length. */
  tokenDigest: Buffer;
}

/** In-memory user store; stands in for a database or an auth service. */
@Injectable()
export class UsersService {
  private readonly users = new Map<string, StoredUser>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const seed = config.users ?? (process.env.IM_USERS_FILE ? loadSeedFile(process.env.IM_USERS_FILE) : DEFAULT_SEED_USERS);
    for (const u of seed) {
      this.users.set(u.userId, { userId: u.userId, displayName: u.displayName ?? u.userId, tokenDigest: digest(u.token) });
    }
  }

  exists(userId: string): boolean {
    return this.users.has(userId);
  }

  /**
   * True when `token` is the user's token. An unknown user is checked against a
   * dummy digest so both failures cost the same time.
   */
  verify(userId: string, token: string | undefined): boolean {
    const user = this.users.get(userId);
    const expected = user?.tokenDigest ?? UNKNOWN_USER_DIGEST;
    const ok = timingSafeEqual(expected, digest(token ?? ''));
    return ok && user !== undefined;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

const UNKNOWN_USER_DIGEST = digest('\0unknown-user\0');
