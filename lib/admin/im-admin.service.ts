import { Injectable } from '@nestjs/common';
import type { TransportKind } from '../core/connection';
import { DeliveryResult, IMCore } from '../core/im-core';
import { IMStats } from '../core/im-events';
import { PushOptions, PushService } from '../push/push.service';

/** One user online on this node, as the admin API lists it. */
export interface IMOnlineUser {
  readonly userId: string;
  readonly transport: TransportKind;
  /** Login time of the current session (ms since the epoch, server clock). */
  readonly loginTime: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Process-unique session id, as in the logs. */
  readonly sessionId: number;
}

/** A page of {@link IMOnlineUser}s. */
export interface IMOnlineUserPage {
  /** Users matching the search, before `limit`. */
  readonly total: number;
  readonly users: IMOnlineUser[];
}

/** Live counters: totals since start and current sizes; a client derives rates from two readings. */
export interface IMLiveCounters {
  /** Server time of the reading (ms). */
  readonly at: number;
  readonly online: number;
  readonly connections: number;
  readonly pendingQoS: number;
  readonly dedupEntries: number;
  readonly stats: IMStats;
}

/** Bounds of {@link IMAdminService.onlineUsers}. */
const MAX_PAGE = 1000;

/**
 * The admin API, as a service the application exposes behind its own
 * controller and guard: online users with transport, login time and remote
 * address; kick; push; live counters. It answers for this node.
 */
@Injectable()
export class IMAdminService {
  constructor(
    private readonly core: IMCore,
    private readonly pushService: PushService,
  ) {}

  /**
   * Users online on this node whose id contains `search` (case-insensitive),
   * in user-id order, at most `limit` (default 100, at most 1000).
   */
  onlineUsers(options: { search?: string; limit?: number } = {}): IMOnlineUserPage {
    const needle = options.search?.trim().toLowerCase() ?? '';
    const limit = Math.min(Math.max(Math.floor(options.limit ?? 100), 0), MAX_PAGE);
    const found: IMOnlineUser[] = [];
    for (const s of this.core.online.sessions()) {
      const userId = s.userId;
      if (userId === null || (needle && !userId.toLowerCase().includes(needle))) continue;
      found.push({
        userId,
        transport: s.transport,
        loginTime: s.loginAt,
        remoteAddress: s.remoteAddress,
        remotePort: s.connection.remotePort,
        sessionId: s.id,
      });
    }
    found.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    return { total: found.length, users: found.slice(0, limit) };
  }

  /** Kicks the user (kick-out code 2) on whichever node it is; false if not online. */
  kick(userId: string, reason?: string): Promise<boolean> {
    return this.pushService.kick(userId, reason);
  }

  /** Sends to one user and settles with the delivery result. */
  push(userId: string, data: string | object, options?: PushOptions): Promise<DeliveryResult> {
    return this.pushService.send(userId, data, options);
  }

  /** The counters now. */
  counters(): IMLiveCounters {
    return {
      at: this.core.clock.now(),
      online: this.core.online.size,
      connections: this.core.sessionCount,
      pendingQoS: this.core.pendingQoS,
      dedupEntries: this.core.dedupEntries,
      stats: { ...this.core.stats },
    };
  }
}
