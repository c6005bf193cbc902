import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { timingSafeEqual } from 'crypto';

/** Injection token of the configured admin token (undefined: admin endpoints off). */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

/** The admin bearer token (`IM_ADMIN_TOKEN`), compared in constant time. */
@Injectable()
export class AdminAuth implements OnModuleInit {
  private readonly token?: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string | undefined) {
    if (token) this.token = Buffer.from(token);
  }

  /** False without a token: the admin endpoints are off. */
  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** Whether an `Authorization` header carries the token. */
  accepts(authorization: string | undefined): boolean {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!this.token || !match) return false;
    const given = Buffer.from(match[1]);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  onModuleInit(): void {
    if (!this.enabled) {
      new Logger('Admin').warn('IM_ADMIN_TOKEN is not set: /admin, /metrics and POST /push, /broadcast, /kick are off');
    }
  }
}
