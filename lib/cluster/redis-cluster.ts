import { Logger } from '@nestjs/common';
import { hostname } from 'os';
import { randomBytes } from 'crypto';
import type Redis from 'ioredis';
import { Subscription } from 'rxjs';
import { ClockTimer } from '../core/clock';
import type { IMClusterPort } from '../core/cluster-port';
import type { DeliveryResult } from '../core/delivery-result';
import { RemoteRouter } from '../core/remote-router';
import { Packet } from '../protocol/packet';
import type { Session } from '../core/session';
import { LinkedQueue, QueueNode } from '../qos/linked-queue';
import type { IMClusterOutcome } from '../metrics/im-metrics';
import { ClusterOptions } from './cluster-options';
import { ClusterEnvelope, ClusterReplies, ClusterRequest } from './cluster-messages';
import { RedisPresence } from './redis-presence';
import type { PresenceEntry } from './presence-entry';

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
  private stopped = false;
  /** Claims sent and not answered yet: their users are not in this node's Redis set so far. */
  private claiming = 0;
  private reasserting?: Promise<void>;
  private reassertAgain = false;
  /** Removal of the entries an earlier run under this node id left (the first connection); shared by overlapping rejoins. */
  private clearing?: Promise<void>;
  private subscribed = false;
  private onJoined?: () => void;

  constructor(
    private readonly core: IMClusterPort,
    private readonly options: ClusterOptions,
    /** How long an S2C push may take to settle (QoS retransmissions included). */
    private readonly pushTimeoutMs: number,
  ) {
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.prefix = options.keyPrefix ?? 'im:';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.nodeTtlMs = options.nodeTtlMs ?? 10_000;
  }

  /** Users online in the whole cluster (a dead node's users drop out within about 2 × nodeTtlMs). */
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
    // Nothing waits for Redis longer than a cross-node request may take: a command fails at once
    // while the connection is down (no offline queue) and after `requestTimeoutMs` if Redis is frozen.
    const defaults = { enableOfflineQueue: false, commandTimeout: this.requestTimeoutMs };
    const redis = this.options.redis;
    const connect = () => (typeof redis === 'string' ? new IORedis(redis, defaults) : new IORedis({ ...defaults, ...redis }));
    const joined = new Promise<void>((resolve) => (this.onJoined = resolve));
    this.redis = connect();
    this.subscriber = connect();
    this.presence = new RedisPresence(this.redis, this.prefix, this.nodeId);
    this.watch(this.redis, 'commands');
    this.watch(this.subscriber, 'pub/sub');
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    // Every (re)connection: subscribe again, and put this node's presence back in case Redis lost it;
    // only once subscribed, so that no other node routes to this one before it can hear.
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('close', () => (this.subscribed = false));
    this.redis.on('ready', () => void this.rejoin());
    const clock = this.core.clock;
    const renewEvery = Math.max(100, Math.min(1000, Math.floor(this.nodeTtlMs / 3)));
    this.timers.push(clock.every(renewEvery, () => void this.renewAlive().catch((e) => this.fail(e))));
    this.timers.push(clock.every(100, () => this.expireRequests(clock.now())));
    this.timers.push(clock.every(this.nodeTtlMs, () => void this.sweep()));
    this.events = this.core.events.subscribe((event) => {
      if (event.type === 'online') void this.claim(event.userId, event.session);
      else if (event.type === 'offline') void this.presence.release(event.userId, event.session.id).catch((e) => this.fail(e));
    });
    this.core.setRemoteRouter(this);
    // A node starts while Redis is down: it serves its own sessions and joins when Redis answers.
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([joined.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(r, this.requestTimeoutMs, false)))]);
    clearTimeout(timer);
    if (inTime) this.logger.log(`node ${this.nodeId} joined the cluster`);
    else this.logger.warn(`node ${this.nodeId}: Redis does not answer yet; serving local sessions, joining when it does`);
  }

  /** Leaves the cluster; idempotent (a second call would fail on the closed connection). */
  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  private async leave(): Promise<void> {
    if (!this.redis) return;
    this.stopped = true;
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
    // One deadline for the lookup and the request together: the sender's session queue waits at most that.
    const deadline = this.core.clock.now() + this.requestTimeoutMs;
    const nodeId = await this.remoteNodeOf(packet.to as string);
    return nodeId ? this.request(nodeId, { kind: 'c2c', packet }, false, false, deadline) : false;
  }

  async push(userId: string, packet: Packet): Promise<DeliveryResult | undefined> {
    const nodeId = await this.remoteNodeOf(userId);
    if (!nodeId) return undefined;
    // Timed out: 'lost', the other node may have written it. Its node gone (nobody on the channel): 'offline'.
    const offline: DeliveryResult = { userId, status: 'offline', fp: packet.fp };
    return this.request(nodeId, { kind: 's2c', userId, packet }, { userId, status: 'lost', fp: packet.fp }, offline);
  }

  async kick(userId: string, reason?: string): Promise<boolean> {
    const nodeId = await this.remoteNodeOf(userId);
    return nodeId ? this.request(nodeId, { kind: 'kick', userId, reason }, false, false) : false;
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

  /**
   * A local login: record it, and apply the duplicate-login rules to the session it replaced on
   * another node, with the firstLoginTime the client sent (0: a new device, which always wins).
   * The request names that very session, so two logins at once on two nodes never take each
   * other out: the one whose claim reached Redis last supersedes the other.
   */
  private async claim(userId: string, session: Session): Promise<void> {
    this.claiming++;
    try {
      const mine = this.entryOf(session);
      const previous = await this.presence.claim(userId, mine);
      if (!previous || previous.nodeId === this.nodeId) return;
      const request = { kind: 'supersede', userId, clientTime: session.clientLoginTime, sessionId: previous.sessionId } as const;
      const outcome = await this.request(previous.nodeId, request, 'absent', 'absent');
      if (outcome === 'stale') {
        await this.presence.restore(userId, mine, previous);
        this.core.rejectStaleLogin(userId, session);
      }
    } catch (err) {
      // Redis down: the session is written back by the re-assertion when it returns.
      this.fail(err);
    } finally {
      this.claiming--;
    }
  }

  private entryOf(session: Session): PresenceEntry {
    return { nodeId: this.nodeId, sessionId: session.id, firstLoginTime: session.firstLoginTime };
  }

  /** After each (re)connection, once subscribed: liveness, the first time a clean slate, then this node's sessions. */
  private async rejoin(): Promise<void> {
    if (!this.subscribed || this.redis.status !== 'ready') return;
    try {
      await this.renewAlive(true);
      this.clearing ??= this.presence.clearOwn().catch((err) => {
        this.clearing = undefined;
        throw err;
      });
      await this.clearing;
      await this.reassert();
      this.onJoined?.();
    } catch (err) {
      this.fail(err);
    }
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel(this.nodeId));
      this.subscribed = true;
      await this.rejoin();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Writes every live session of this node back into Redis presence; one run at a time. */
  private reassert(): Promise<void> {
    if (this.reasserting) {
      this.reassertAgain = true;
      return this.reasserting;
    }
    const run = async () => {
      do {
        this.reassertAgain = false;
        const sessions: Array<[string, PresenceEntry]> = [];
        for (const s of this.core.online.sessions()) if (s.userId !== null) sessions.push([s.userId, this.entryOf(s)]);
        const conflicts = await this.presence.reassert(sessions);
        if (sessions.length) this.logger.log(`presence of ${sessions.length} sessions re-asserted (${conflicts.length} held by other nodes)`);
        for (const [userId, theirs] of conflicts) this.settleConflict(userId, theirs);
      } while (this.reassertAgain && !this.stopped);
    };
    this.reasserting = run().finally(() => (this.reasserting = undefined));
    return this.reasserting;
  }

  /**
   * The user logged in on another node while Redis could not tell this node (an outage), and that
   * node's entry reached Redis first: it is the last claim, so it wins, as a claim does. This
   * node's session is kicked (code 1), or retired quietly if it is the same device.
   */
  private settleConflict(userId: string, theirs: PresenceEntry): void {
    const session = this.core.online.get(userId);
    if (!session) return;
    const clientTime = theirs.firstLoginTime === session.firstLoginTime ? theirs.firstLoginTime : 0;
    if (this.core.supersede(userId, clientTime, session.id) === 'retired') void this.presence.forget(userId).catch((e) => this.fail(e));
  }

  /**
   * Sends a request to another node's channel. `fallback` answers a request that timed out;
   * `unreachable` one that could not be sent or that no node was listening for (that node is gone).
   */
  private request<K extends ClusterRequest['kind']>(
    nodeId: string,
    request: Extract<ClusterRequest, { kind: K }>,
    fallback: ClusterReplies[K],
    unreachable: ClusterReplies[K],
    deadlineAt?: number,
  ): Promise<ClusterReplies[K]> {
    const id = this.nextId++;
    const long = request.kind === 's2c';
    const startedAt = this.core.clock.now();
    const deadline = deadlineAt ?? startedAt + (long ? this.pushTimeoutMs : this.requestTimeoutMs);
    return new Promise<ClusterReplies[K]>((resolve) => {
      const queue = long ? this.longQueue : this.shortQueue;
      const entry: PendingRequest = {
        id, queue, deadline, fallback, kind: request.kind, startedAt, prev: null, next: null, resolve: resolve as (r: unknown) => void,
      };
      this.pending.set(id, entry);
      queue.push(entry);
      const envelope: ClusterEnvelope = { id, from: this.nodeId, request };
      this.redis.publish(this.channel(nodeId), JSON.stringify(envelope)).then(
        (receivers) => receivers === 0 && this.settle(id, unreachable, 'unreachable'),
        (err) => {
          this.fail(err);
          this.settle(id, unreachable, 'failed');
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
      case 'supersede': {
        const outcome = this.core.supersede(request.userId, request.clientTime, request.sessionId);
        // Retired quietly, without an offline event: take the user out of this node's set here.
        if (outcome === 'retired') await this.presence.forget(request.userId).catch((e) => this.fail(e));
        return outcome;
      }
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

  /**
   * Renews this node's liveness. Its key gone (Redis restarted or flushed, or this node was
   * paused past its TTL) or fewer users in its set than sessions here: its presence is re-asserted.
   */
  private async renewAlive(renewOnly = false): Promise<void> {
    if (this.redis.status !== 'ready' || this.stopped) return;
    const [was, held] = await Promise.all([
      this.redis.set(this.presence.aliveKey(this.nodeId), '1', 'PX', this.nodeTtlMs, 'GET'),
      this.presence.ownCount(),
    ]);
    if (renewOnly || this.reasserting) return;
    if (was === null || held + this.claiming < this.core.online.size) await this.reassert();
  }

  /** Removes what dead nodes left in Redis (every node does it; the scripts are atomic, so they may overlap). */
  private async sweep(): Promise<void> {
    if (this.redis.status !== 'ready' || this.stopped) return;
    try {
      const batches = await this.presence.sweep(100);
      if (batches) this.logger.log(`removed the presence of nodes that are gone (${batches} batches)`);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Logs each Redis connection's state changes once (lost, back), not each error of an outage. */
  private watch(client: Redis, name: string): void {
    let up: boolean | undefined;
    const down = (why: string) => {
      if (up === false || this.stopped) return;
      up = false;
      this.logger.error(`Redis (${name}) ${why}; local sessions are served, remote users take the offline path until it is back`);
    };
    client.on('error', (err: Error) => down(`unreachable: ${err.message}`));
    client.on('close', () => up && down('connection lost'));
    client.on('ready', () => {
      if (up === false) this.logger.log(`Redis (${name}) connection is back`);
      up = true;
    });
  }

  private channel(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  /** Logs a Redis failure; during an outage, at most once per 10 s with a count of the rest. */
  private fail(err: unknown): void {
    // While a connection is down its state change was logged once; the commands failing meanwhile are expected.
    if (this.redis.status !== 'ready') {
      this.suppressedErrors++;
      return;
    }
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
