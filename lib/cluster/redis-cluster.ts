import { Logger } from '@nestjs/common';
import { hostname } from 'os';
import { randomBytes } from 'crypto';
import type Redis from 'ioredis';
import { Subscription } from 'rxjs';
import { ClockTimer } from '../core/clock';
import type { DeliveryResult, IMCore } from '../core/im-core';
import { RemoteRouter } from '../core/remote-router';
import { Packet } from '../protocol/packet';
import { LinkedQueue, QueueNode } from '../qos/linked-queue';
import type { IMClusterOutcome } from '../metrics/im-metrics';
import { ClusterOptions } from './cluster-options';
import { ClusterEnvelope, ClusterReplies, ClusterRequest } from './cluster-messages';
import { RedisPresence } from './redis-presence';

interface PendingRequest extends QueueNode {
  readonly id: number;
  readonly queue: LinkedQueue<PendingRequest>;
  readonly deadline: number;
  readonly resolve: (reply: unknown) => void;
  readonly fallback: unknown;
  readonly kind: ClusterRequest['kind'];
  readonly startedAt: number;
}

/**
 * Scale-out on Redis. Presence lives in a Redis hash; each node listens on
 * its own pub/sub channel, and what is addressed to a user on another node is
 * sent there as a request whose reply carries the outcome (written or not,
 * delivered/lost/offline), so the protocol's semantics hold across nodes.
 */
export class RedisCluster implements RemoteRouter {
  readonly nodeId: string;
  private readonly logger = new Logger('IMCluster');
  private readonly prefix: string;
  private readonly requestTimeoutMs: number;
  private readonly nodeTtlMs: number;
  private redis!: Redis;
  private subscriber!: Redis;
  private presence!: RedisPresence;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  /** Short requests (C2C, kick, supersede) in deadline order; S2C waits for QoS and has its own queue. */
  private readonly shortQueue = new LinkedQueue<PendingRequest>();
  private readonly longQueue = new LinkedQueue<PendingRequest>();
  private events?: Subscription;
  private timers: ClockTimer[] = [];
  private lastErrorAt = 0;
  private suppressedErrors = 0;
  private stopping?: Promise<void>;

  constructor(
    private readonly core: IMCore,
    private readonly options: ClusterOptions,
    /** How long an S2C push may take to settle (QoS retransmissions included). */
    private readonly pushTimeoutMs: number,
  ) {
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.prefix = options.keyPrefix ?? 'im:';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.nodeTtlMs = options.nodeTtlMs ?? 10_000;
  }

  /** Users online in the whole cluster. */
  onlineCount(): Promise<number> {
    return this.presence.count();
  }

  /** Whether the user is online on any node. */
  async isOnline(userId: string): Promise<boolean> {
    return this.core.online.get(userId) !== undefined || (await this.remoteNodeOf(userId)) !== undefined;
  }

  /**
   * Whether Redis answers a PING within `timeoutMs` (health checks). Fails at
   * once while the connection is down rather than waiting in ioredis's offline queue.
   */
  async ping(timeoutMs = 1000): Promise<boolean> {
    if (!this.redis || this.redis.status !== 'ready') return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
    try {
      return await Promise.race([this.redis.ping().then((r) => r === 'PONG', () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async start(): Promise<void> {
    // Loaded here so that applications without a cluster need not install ioredis.
    const IORedis = (require('ioredis') as { default: typeof Redis }).default;
    const connect = () => (typeof this.options.redis === 'string' ? new IORedis(this.options.redis) : new IORedis(this.options.redis));
    this.redis = connect();
    this.subscriber = connect();
    this.presence = new RedisPresence(this.redis, this.prefix, this.nodeId);
    await this.renewAlive();
    await this.presence.clearOwn();
    await this.subscriber.subscribe(this.channel(this.nodeId));
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    const clock = this.core.clock;
    this.timers.push(clock.every(Math.max(1000, Math.floor(this.nodeTtlMs / 3)), () => void this.renewAlive().catch((e) => this.fail(e))));
    this.timers.push(clock.every(100, () => this.expireRequests(clock.now())));
    this.events = this.core.events.subscribe((event) => {
      if (event.type === 'online') void this.claim(event.userId, event.session.firstLoginTime, event.session).catch((e) => this.fail(e));
      else if (event.type === 'offline') void this.presence.release(event.userId).catch((e) => this.fail(e));
    });
    this.core.setRemoteRouter(this);
    this.logger.log(`node ${this.nodeId} joined the cluster`);
  }

  /** Leaves the cluster; idempotent (a second call would fail on the closed connection). */
  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  private async leave(): Promise<void> {
    if (!this.redis) return;
    this.core.setRemoteRouter(undefined);
    this.events?.unsubscribe();
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const request of this.pending.values()) request.resolve(request.fallback);
    this.pending.clear();
    this.shortQueue.clear();
    this.longQueue.clear();
    await this.presence.clearOwn().catch((e) => this.fail(e));
    await this.redis.del(this.presence.aliveKey(this.nodeId)).catch((e) => this.fail(e));
    this.subscriber.disconnect();
    // A connection that is already gone must not be disconnected again: ioredis
    // would arm a 2 s timer on the dead stream and keep the process alive.
    await this.redis.quit().catch(() => this.redis.status !== 'end' && this.redis.disconnect());
  }

  // ------------------------------------------------------------- RemoteRouter

  // With Redis unreachable these answer "online nowhere else" (and log), so the
  // core takes its offline path instead of failing the sender's packet.

  async forwardC2C(packet: Packet): Promise<boolean> {
    const nodeId = await this.remoteNodeOf(packet.to as string);
    return nodeId ? this.request(nodeId, { kind: 'c2c', packet }, false) : false;
  }

  async push(userId: string, packet: Packet): Promise<DeliveryResult | undefined> {
    const nodeId = await this.remoteNodeOf(userId);
    if (!nodeId) return undefined;
    return this.request(nodeId, { kind: 's2c', userId, packet }, { userId, status: 'lost', fp: packet.fp });
  }

  async kick(userId: string, reason?: string): Promise<boolean> {
    const nodeId = await this.remoteNodeOf(userId);
    return nodeId ? this.request(nodeId, { kind: 'kick', userId, reason }, false) : false;
  }

  // ------------------------------------------------------------- internals

  /** The live node, other than this one, where the user is online. */
  private async remoteNodeOf(userId: string): Promise<string | undefined> {
    try {
      const where = await this.presence.lookup(userId);
      return where && where.nodeId !== this.nodeId ? where.nodeId : undefined;
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  /** A local login: record it, and apply the duplicate-login rules to a session on another node. */
  private async claim(userId: string, firstLoginTime: number, session: Parameters<IMCore['rejectStaleLogin']>[1]): Promise<void> {
    const previous = await this.presence.claim(userId, firstLoginTime);
    if (!previous || previous.nodeId === this.nodeId) return;
    const outcome = await this.request(previous.nodeId, { kind: 'supersede', userId, clientTime: firstLoginTime }, 'absent');
    if (outcome === 'stale') {
      await this.presence.restore(userId, previous);
      this.core.rejectStaleLogin(userId, session);
    }
  }

  private request<K extends ClusterRequest['kind']>(
    nodeId: string,
    request: Extract<ClusterRequest, { kind: K }>,
    fallback: ClusterReplies[K],
  ): Promise<ClusterReplies[K]> {
    const id = this.nextId++;
    const long = request.kind === 's2c';
    const startedAt = this.core.clock.now();
    const deadline = startedAt + (long ? this.pushTimeoutMs : this.requestTimeoutMs);
    return new Promise<ClusterReplies[K]>((resolve) => {
      const queue = long ? this.longQueue : this.shortQueue;
      const entry: PendingRequest = {
        id, queue, deadline, fallback, kind: request.kind, startedAt, prev: null, next: null, resolve: resolve as (r: unknown) => void,
      };
      this.pending.set(id, entry);
      queue.push(entry);
      const envelope: ClusterEnvelope = { id, from: this.nodeId, request };
      this.redis.publish(this.channel(nodeId), JSON.stringify(envelope)).then(
        (receivers) => receivers === 0 && this.settle(id, fallback, 'unreachable'),
        (err) => {
          this.fail(err);
          this.settle(id, fallback, 'failed');
        },
      );
    });
  }

  private onMessage(text: string): void {
    let envelope: ClusterEnvelope;
    try {
      envelope = JSON.parse(text) as ClusterEnvelope;
    } catch {
      return;
    }
    if ('reply' in envelope) return this.settle(envelope.id, envelope.reply, 'answered');
    void this.answer(envelope.request).then(
      (reply) => this.redis.publish(this.channel(envelope.from), JSON.stringify({ id: envelope.id, from: this.nodeId, reply })),
      (err) => this.fail(err),
    );
  }

  /** Serves another node's request against this node's sessions only. */
  private async answer(request: ClusterRequest): Promise<unknown> {
    switch (request.kind) {
      case 'c2c':
        return this.core.deliverRemoteC2C(request.packet);
      case 's2c':
        return this.core.push(request.userId, request.packet, true);
      case 'kick':
        return this.core.kick(request.userId, request.reason);
      case 'supersede':
        return this.core.supersede(request.userId, request.clientTime);
    }
  }

  private settle(id: number, reply: unknown, outcome: IMClusterOutcome): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    this.core.metrics.clusterRequest(entry.kind, this.core.clock.now() - entry.startedAt, outcome);
    entry.queue.remove(entry);
    entry.resolve(reply);
  }

  private expireRequests(now: number): void {
    for (const queue of [this.shortQueue, this.longQueue]) {
      for (let e = queue.first; e && e.deadline <= now; e = queue.first) this.settle(e.id, e.fallback, 'timeout');
    }
  }

  private async renewAlive(): Promise<void> {
    await this.redis.set(this.presence.aliveKey(this.nodeId), '1', 'PX', this.nodeTtlMs);
  }

  private channel(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  /** Logs a Redis failure; during an outage, at most once per 10 s with a count of the rest. */
  private fail(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorAt < 10_000) {
      this.suppressedErrors++;
      return;
    }
    const more = this.suppressedErrors ? ` (and ${this.suppressedErrors} more Redis errors since the last report)` : '';
    this.lastErrorAt = now;
    this.suppressedErrors = 0;
    this.logger.error(`Redis: ${(err as Error)?.message ?? err}${more}`);
  }
}
