interface Bucket {
  /** Failures still allowed; refills continuously. */
  tokens: number;
  at: number;
}

/** Options of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failed logins one remote address may make in a burst. */
  perAddress: number;
  /** Failed logins for one user id in a burst. */
  perUser: number;
  /** Time in which an exhausted allowance refills completely. */
  windowMs: number;
  /** Keys remembered; the least recently failed are forgotten first. */
  maxEntries: number;
}

/**
 * Failed-login throttling (password guessing): a token bucket per remote
 * address and one per user id. Each failed login takes a token from both; a
 * login whose address or user id has none left is refused before `@OnLogin`
 * runs, until the bucket refills (the lockout). A successful login resets
 * both. Memory is bounded: at most `maxEntries` buckets, oldest evicted, and
 * only keys that failed at least once are kept.
 */
export class LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: LoginThrottleOptions) {}

  /** True when a login from `address` as `userId` may reach the application's handler. */
  allows(address: string, userId: string, now: number): boolean {
    return (
      this.available('a:' + address, this.options.perAddress, now) >= 1 &&
      this.available('u:' + userId, this.options.perUser, now) >= 1
    );
  }

  /** Records a failed login. */
  failed(address: string, userId: string, now: number): void {
    this.take('a:' + address, this.options.perAddress, now);
    this.take('u:' + userId, this.options.perUser, now);
  }

  /** A login succeeded: the address and the user id start afresh. */
  succeeded(address: string, userId: string): void {
    if (this.buckets.size === 0) return;
    this.buckets.delete('a:' + address);
    this.buckets.delete('u:' + userId);
  }

  /** Buckets held (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private available(key: string, capacity: number, now: number): number {
    const b = this.buckets.get(key);
    if (!b) return capacity;
    return Math.min(capacity, b.tokens + ((now - b.at) * capacity) / this.options.windowMs);
  }

  private take(key: string, capacity: number, now: number): void {
    const tokens = this.available(key, capacity, now) - 1;
    // Re-inserted so that Map order is least recently failed first.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: Math.max(tokens, 0), at: now });
    if (this.buckets.size > this.options.maxEntries) {
      this.buckets.delete(this.buckets.keys().next().value as string);
    }
  }
}
