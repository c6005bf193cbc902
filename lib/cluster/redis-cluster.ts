import { Logger } from '@nestjs/common';
import { hostname } from 'os';
import { randomBytes } from 'crypto';
import { Subscription } from 'rxjs';
import { ClockTimer } from '../core/clock';
import { isThenable } from '../core/core-hooks';
import { logText } from '../core/log-text';
import { LogThrottle } from '../core/log-throttle';
import type { IMClusterPort } from '../core/cluster-port';
import type { DeliveryResult } from '../core/delivery-result';
import { RemoteC2COutcome, RemoteRouter } from '../core/remote-router';
import { Packet } from '../protocol/packet';
import { encodePacket } from '../protocol/packet-codec';
import type { Session } from '../core/session';
import { LinkedQueue, QueueNode } from '../qos/linked-queue';
import type { IMClusterOutcome } from '../metrics/im-metrics';
import type { ClusterLink } from './cluster-link';
import { ClusterOptions } from './cluster-options';
import { ClusterEnvelope, ClusterReplies, ClusterRequest, ENVELOPE_VERSION, isClusterReply, parseEnvelope } from './cluster-messages';
import { MemoryClusterLink } from './memory-link';
import { ClusterKeys } from './redis-presence';
import { RedisClusterLink } from './redis-link';
import type { IMPresence } from './presence';
import type { PresenceEntry } from './presence-entry';

/** Requests or replies per published message at most: bounds a message's size. */
const ENVELOPE_BATCH = 500;
/** Lookups per presence script call at most. */
const LOOKUP_BATCH = 1000;

/** What a request's promise settles with: a C2C's reply as the core's outcome, any other reply as is. */
const answerOf = (entry: { kind: ClusterRequest['kind'] }, reply: unknown): unknown =>
  entry.kind !== 'c2c' ? reply : reply === 'unknown' ? 'unknown' : reply ? 'delivered' : 'absent';

interface PendingRequest extends QueueNode {
  readonly id: number;
  readonly request: ClusterRequest;
  readonly unreachable: unknown;
  readonly queue: LinkedQueue<PendingRequest>;
  readonly deadline: number;
  readonly resolve: (reply: unknown) => void;
  readonly fallback: unknown;
  readonly kind: ClusterRequest['kind'];
  readonly startedAt: number;
  /** A C2C sent on a route hint, until it settles (see {@link RouteHint}). */
  hint?: RouteHint;
}

/**
 * Where a remote recipient was last found: C2C to that user are published straight to that node
 * (no presence script), and that node, which alone knows whether the user is still there,
 * answers "not here" if not; the sender then routes the message by the script after all.
 */
interface RouteHint {
  readonly userId: string;
  /** The node C2C on this hint are published to (those already on it, even once in doubt: they stay in order). */
  readonly nodeId: string;
  /** No new C2C on it: one came back unwritten or unanswered, or the user logged in here. */
  doubted: boolean;
  /**
   * When the node was last known to hold the user (the send time of the last C2C it wrote, or of the
   * script's lookup): an older hint is not used, so a node paused past its liveness is not sent to.
   */
  confirmedAt: number;
  /** C2C sent on this hint and not settled yet. */
  inflight: number;
  /** C2C made while in doubt with earlier ones in flight: routed by the script once those settle, so they stay behind them. */
  held: PendingRequest[];
}

/**
 * Scale-out on Redis. Presence lives in a Redis hash; each node listens on
 * its own pub/sub channel, and what is addressed to a user on another node is
 * sent there as a request whose reply carries the outcome (written or not,
 * delivered/lost/offline), so the protocol's semantics hold across nodes.
 * Redis is reached through a {@link ClusterLink}; with `memory` (a
 * `MemoryClusterHub`) the same node logic runs on its in-memory twin, for
 * several nodes in one process.
 */
export class RedisCluster implements RemoteRouter {
  readonly nodeId: string;
  private readonly logger = new Logger('IMCluster');
  private readonly requestTimeoutMs: number;
  private readonly nodeTtlMs: number;
  /** How long a route hint is used after its node last wrote a C2C to its user: within the node's liveness. */
  private readonly hintTtlMs: number;
  private link?: ClusterLink;
  private presence!: IMPresence;
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
  private reasserting?: Promise<void>;
  private reassertAgain = false;
  /** Removal of the entries an earlier run under this node id left (the first connection); shared by overlapping rejoins. */
  private clearing?: Promise<void>;
  private onJoined?: () => void;
  /** Requests and replies made this turn of the event loop, by destination node; published together. */
  private readonly outbox = new Map<string, PendingRequest[]>();
  private readonly replies = new Map<string, Array<[number, unknown]>>();
  private flushScheduled = false;
  private readonly rejectLog = new LogThrottle(10_000);
  /** Presence lookups made this turn: one script call for all of them. */
  private lookups: Array<{ userId: string; resolve: (e: PresenceEntry | undefined) => void; reject: (err: unknown) => void }> = [];
  private lookupScheduled = false;
  /** C2C of this turn, routed together (see flushRoutes). */
  private routes: PendingRequest[] = [];
  private routeScheduled = false;
  /** Route hints by recipient (see {@link RouteHint}); idle ones are dropped every nodeTtlMs. */
  private readonly hints = new Map<string, RouteHint>();
  /** The start of an envelope of requests from this node (the route script appends the requests). */
  private readonly envelopeHead: string;

  constructor(
    private readonly core: IMClusterPort,
    private readonly options: ClusterOptions,
    /** How long an S2C push may take to settle (QoS retransmissions included). */
    private readonly pushTimeoutMs: number,
  ) {
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.envelopeHead = `{"v":${ENVELOPE_VERSION},"from":${JSON.stringify(this.nodeId)},"requests":[`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.nodeTtlMs = options.nodeTtlMs ?? 10_000;
    this.hintTtlMs = Math.floor(this.nodeTtlMs / 2);
  }

  /** Users online in the whole cluster (a dead node's users drop out once its liveness lapsed, within nodeTtlMs). */
  onlineCount(): Promise<number> {
    return this.presence.count();
  }

  /** Whether the user is online on any node. */
  async isOnline(userId: string): Promise<boolean> {
    return this.core.online.get(userId) !== undefined || (await this.remoteNodeOf(userId)) !== undefined;
  }

  /**
   * Whether Redis answers a PING within `timeoutMs` (health checks; a memory hub always does
   * while the node runs). Fails at once while the connection is down rather than waiting.
   */
  async ping(timeoutMs = 1000): Promise<boolean> {
    return this.link ? this.link.ping(timeoutMs) : false;
  }

  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) => (this.onJoined = resolve));
    const link: ClusterLink = this.options.memory
      ? new MemoryClusterLink(this.options.memory, this.nodeId)
      : new RedisClusterLink(this.options, this.nodeId, new ClusterKeys(this.options.keyPrefix ?? 'im:'), this.requestTimeoutMs);
    this.link = link;
    // Every (re)connection, once this node's channel is listened to: put its presence back in case Redis lost it.
    link.open({ message: (text) => this.onMessage(text), joinable: () => void this.rejoin(), error: (err) => this.fail(err) });
    this.presence = link.presence;
    const clock = this.core.clock;
    const renewEvery = Math.max(100, Math.min(1000, Math.floor(this.nodeTtlMs / 3)));
    this.timers.push(clock.every(renewEvery, () => void this.renewAlive().catch((e) => this.fail(e))));
    this.timers.push(clock.every(100, () => this.expireRequests(clock.now())));
    this.timers.push(clock.every(this.nodeTtlMs, () => (this.dropIdleHints(), void this.sweep())));
    this.events = this.core.events.subscribe((event) => {
      if (event.type === 'online') {
        // Online here now: whatever is still on its way to the node it left goes first (the core waits for it).
        const hint = this.hints.get(event.userId);
        if (hint) this.doubt(hint);
        void this.claim(event.userId, event.session);
      } else if (event.type === 'offline') void this.presence.release(event.userId, event.session.id).catch((e) => this.fail(e));
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
    if (!this.link) return;
    this.stopped = true;
    this.core.setRemoteRouter(undefined);
    this.events?.unsubscribe();
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const request of this.pending.values()) request.resolve(answerOf(request, request.fallback));
    this.pending.clear();
    this.shortQueue.clear();
    this.longQueue.clear();
    this.hints.clear();
    await this.presence.clearOwn().catch((e) => this.fail(e));
    await this.presence.withdraw().catch((e) => this.fail(e));
    await this.link.close();
  }

  // ------------------------------------------------------------- RemoteRouter

  // With Redis unreachable these answer "online nowhere else" (and log), so the
  // core takes its offline path instead of failing the sender's packet.

  forwardC2C(packet: Packet): Promise<RemoteC2COutcome> {
    // No answer in time: the other node may have written it ('unknown'). Not sent, or nobody on its channel: 'absent'.
    const { entry, settled } = this.track<'c2c'>({ kind: 'c2c', packet }, 'unknown', false);
    let hint = this.hints.get(packet.to as string);
    if (hint && !hint.doubted && entry.startedAt - hint.confirmedAt > this.hintTtlMs) {
      // Not heard of for a while: that node may be paused or gone, which only the script can tell.
      this.doubt(hint);
      hint = this.hints.get(packet.to as string);
    }
    if (hint?.doubted) {
      // In doubt with earlier C2C to this user still in flight: after them.
      hint.held.push(entry);
    } else {
      // A hint: published straight to its node. Otherwise looked up and sent in one script call with
      // the other C2C of this turn (one Redis round trip, not two).
      if (hint) {
        hint.inflight++;
        entry.hint = hint;
      }
      this.queueRoute(entry);
    }
    // Settled with the outcome itself (see answerOf): no extra promise on every cross-node message's path.
    return settled as unknown as Promise<RemoteC2COutcome>;
  }

  private queueRoute(entry: PendingRequest): void {
    this.routes.push(entry);
    if (this.routeScheduled) return;
    this.routeScheduled = true;
    setImmediate(() => this.flushRoutes());
  }

  /**
   * Routes this turn's C2C, in order: those without a hint by the script (each recipient looked up
   * and each node's share published, one call per batch), then those on a hint, one message per node.
   * Scripts first: a C2C on a hint never overtakes one of the same recipient re-routed in this turn
   * (that one came back unwritten and is older); commands on one connection run in order.
   */
  private flushRoutes(): void {
    this.routeScheduled = false;
    const all = this.routes;
    this.routes = [];
    if (this.stopped) return;
    const scripted: PendingRequest[] = [];
    const hinted = new Map<string, PendingRequest[]>();
    for (const e of all) {
      if (e.hint === undefined) {
        scripted.push(e);
        continue;
      }
      // To the hint's node even if it fell in doubt since: what is unwritten there comes back in order.
      let list = hinted.get(e.hint.nodeId);
      if (!list) hinted.set(e.hint.nodeId, (list = []));
      list.push(e);
    }
    for (let i = 0; i < scripted.length; i += ENVELOPE_BATCH) this.routeByScript(scripted.slice(i, i + ENVELOPE_BATCH));
    for (const [nodeId, list] of hinted) {
      for (let i = 0; i < list.length; i += ENVELOPE_BATCH) this.routeByHint(nodeId, list.slice(i, i + ENVELOPE_BATCH));
    }
  }

  private routeByScript(batch: PendingRequest[]): void {
    const items = batch.map((e): [string, string] => [(e.request as { packet: Packet }).packet.to as string, this.encodeC2C(e)]);
    this.presence.route(items, this.envelopeHead).then(
      ({ nodes, receivers }) => {
        batch.forEach((e, j) => {
          const node = nodes[j];
          // Online nowhere else, or nobody listens on that node's channel (it is gone): nothing was written.
          if (node === undefined) this.settle(e.id, false);
          else if (receivers.get(node) === 0) this.settle(e.id, false, 'unreachable');
          else {
            // Found there: later C2C to this user go straight to that node until it says otherwise.
            const to = items[j][0];
            if (!this.hints.has(to) && !this.stopped) {
              this.hints.set(to, { userId: to, nodeId: node, doubted: false, confirmedAt: e.startedAt, inflight: 0, held: [] });
            }
          }
        });
      },
      (err) => {
        this.fail(err);
        // A script that timed out may still have run (and published): as requests without an answer.
        const maybeSent = /timed out/i.test((err as Error)?.message ?? '');
        for (const e of batch) this.settle(e.id, maybeSent ? 'unknown' : false, maybeSent ? 'timeout' : 'failed');
      },
    );
  }

  private routeByHint(nodeId: string, batch: PendingRequest[]): void {
    this.publish(nodeId, this.envelopeHead + batch.map((e) => this.encodeC2C(e)).join(',') + ']}').then(
      (receivers) => {
        // Nobody on that node's channel (it is gone): nothing was written, so the script decides.
        if (receivers === 0) for (const e of batch) this.reroute(e);
      },
      (err) => {
        this.fail(err);
        // A PUBLISH that timed out may still have been carried out: as a request without an answer.
        if (/timed out/i.test((err as Error)?.message ?? '')) for (const e of batch) this.settle(e.id, 'unknown', 'timeout');
        else for (const e of batch) this.reroute(e);
      },
    );
  }

  /**
   * The request `[id, {kind: 'c2c', packet}]` spelt out, the packet by the wire encoder: this is on every
   * cross-node message's path, and the generic JSON.stringify of the wrapper costs about twice as much.
   */
  private encodeC2C(e: PendingRequest): string {
    return '[' + e.id + ',{"kind":"c2c","packet":' + encodePacket((e.request as { packet: Packet }).packet) + '}]';
  }

  /** A C2C sent on a hint that its node did not write (the user is not there) or could not hear: routed by the script. */
  private reroute(e: PendingRequest): void {
    const hint = e.hint;
    if (!hint) return;
    hint.doubted = true;
    this.unhint(e, this.pending.has(e.id) && !this.stopped ? e : undefined);
  }

  /** Takes a C2C off its hint; the hint, once in doubt and idle, is dropped and what it held goes by the script (after `first`). */
  private unhint(e: PendingRequest, first?: PendingRequest): void {
    const hint = e.hint as RouteHint;
    e.hint = undefined;
    hint.inflight--;
    if (first) this.queueRoute(first);
    if (hint.doubted && hint.inflight === 0) this.release(hint);
  }

  /** Stops sending on a hint: later C2C to its user wait for those in flight, then go by the script. */
  private doubt(hint: RouteHint): void {
    hint.doubted = true;
    if (hint.inflight === 0) this.release(hint);
  }

  private release(hint: RouteHint): void {
    if (this.hints.get(hint.userId) === hint) this.hints.delete(hint.userId);
    for (const e of hint.held) if (this.pending.has(e.id)) this.queueRoute(e);
    hint.held = [];
  }

  /** Hints too old to use that nothing is in flight on: dropped now and then, so that the map holds only recent recipients. */
  private dropIdleHints(): void {
    const old = this.core.clock.now() - this.hintTtlMs;
    for (const [userId, hint] of this.hints) if (hint.inflight === 0 && !hint.doubted && hint.confirmedAt < old) this.hints.delete(userId);
  }

  async push(userId: string, packet: Packet): Promise<DeliveryResult | undefined> {
    const nodeId = await this.remoteNodeOf(userId);
    if (!nodeId) return undefined;
    // Timed out: 'unknown', the other node may have written it. Its node gone (nobody on the channel): 'offline'.
    const offline: DeliveryResult = { userId, status: 'offline', fp: packet.fp };
    const result = await this.request(nodeId, { kind: 's2c', userId, packet }, { userId, status: 'unknown', fp: packet.fp }, offline);
    if (result.status === 'unknown') this.core.stats.crossNodeUnknown++;
    return result;
  }

  async kick(userId: string, reason?: string): Promise<boolean> {
    const nodeId = await this.remoteNodeOf(userId);
    return nodeId ? this.request(nodeId, { kind: 'kick', userId, reason }, false, false) : false;
  }

  // ------------------------------------------------------------- internals

  /** The live node, other than this one, where the user is online. */
  private async remoteNodeOf(userId: string): Promise<string | undefined> {
    try {
      const where = await this.lookup(userId);
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
    }
  }

  /** Where the user is online; lookups made in one turn of the event loop share one script call, answered in order. */
  private lookup(userId: string): Promise<PresenceEntry | undefined> {
    return new Promise((resolve, reject) => {
      this.lookups.push({ userId, resolve, reject });
      if (this.lookupScheduled) return;
      this.lookupScheduled = true;
      setImmediate(() => this.flushLookups());
    });
  }

  private flushLookups(): void {
    this.lookupScheduled = false;
    const all = this.lookups;
    this.lookups = [];
    for (let i = 0; i < all.length; i += LOOKUP_BATCH) {
      const batch = all.slice(i, i + LOOKUP_BATCH);
      this.presence.lookupMany(batch.map((l) => l.userId)).then(
        (entries) => batch.forEach((l, j) => l.resolve(entries[j])),
        (err) => batch.forEach((l) => l.reject(err)),
      );
    }
  }

  private entryOf(session: Session): PresenceEntry {
    return { nodeId: this.nodeId, sessionId: session.id, firstLoginTime: session.firstLoginTime };
  }

  /** After each (re)connection, once subscribed: liveness, the first time a clean slate, then this node's sessions. */
  private async rejoin(): Promise<void> {
    if (!this.link?.ready || this.stopped) return;
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
   * Requests made in one turn of the event loop travel together, one message per node, in the
   * order they were made: so the order of one sender's messages to one recipient holds.
   */
  private request<K extends ClusterRequest['kind']>(
    nodeId: string,
    request: Extract<ClusterRequest, { kind: K }>,
    fallback: ClusterReplies[K],
    unreachable: ClusterReplies[K],
    deadlineAt?: number,
  ): Promise<ClusterReplies[K]> {
    const { entry, settled } = this.track(request, fallback, unreachable, deadlineAt);
    let out = this.outbox.get(nodeId);
    if (!out) this.outbox.set(nodeId, (out = []));
    out.push(entry);
    this.scheduleFlush();
    return settled;
  }

  /** A request awaiting its answer until its deadline; `settled` resolves with the answer or a fallback. */
  private track<K extends ClusterRequest['kind']>(
    request: Extract<ClusterRequest, { kind: K }>,
    fallback: ClusterReplies[K],
    unreachable: ClusterReplies[K],
    deadlineAt?: number,
  ): { entry: PendingRequest; settled: Promise<ClusterReplies[K]> } {
    const id = this.nextId++;
    const long = request.kind === 's2c';
    const startedAt = this.core.clock.now();
    const deadline = deadlineAt ?? startedAt + (long ? this.pushTimeoutMs : this.requestTimeoutMs);
    const queue = long ? this.longQueue : this.shortQueue;
    let resolve!: (r: unknown) => void;
    const settled = new Promise<ClusterReplies[K]>((r) => (resolve = r as (r: unknown) => void));
    const entry: PendingRequest = { id, queue, deadline, fallback, unreachable, request, kind: request.kind, startedAt, prev: null, next: null, resolve, hint: undefined };
    this.pending.set(id, entry);
    queue.push(entry);
    return { entry, settled };
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Publishes what this turn queued: requests and replies, one message (per batch) per node, in order. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped) return;
    for (const [nodeId, entries] of this.outbox) {
      for (let i = 0; i < entries.length; i += ENVELOPE_BATCH) {
        const batch = entries.slice(i, i + ENVELOPE_BATCH);
        const envelope: ClusterEnvelope = { v: ENVELOPE_VERSION, from: this.nodeId, requests: batch.map((e) => [e.id, e.request]) };
        this.publish(nodeId, JSON.stringify(envelope)).then(
          (receivers) => {
            if (receivers === 0) for (const e of batch) this.settle(e.id, e.unreachable, 'unreachable');
          },
          (err) => {
            this.fail(err);
            // A PUBLISH that timed out may still have been carried out: as a request without an answer.
            const maybeSent = /timed out/i.test((err as Error)?.message ?? '');
            for (const e of batch) this.settle(e.id, maybeSent ? e.fallback : e.unreachable, maybeSent ? 'timeout' : 'failed');
          },
        );
      }
    }
    this.outbox.clear();
    for (const [nodeId, replies] of this.replies) {
      for (let i = 0; i < replies.length; i += ENVELOPE_BATCH) {
        const envelope: ClusterEnvelope = { v: ENVELOPE_VERSION, from: this.nodeId, replies: replies.slice(i, i + ENVELOPE_BATCH) };
        this.publish(nodeId, JSON.stringify(envelope)).catch((err) => this.fail(err));
      }
    }
    this.replies.clear();
  }

  private reply(nodeId: string, id: number, reply: unknown): void {
    let out = this.replies.get(nodeId);
    if (!out) this.replies.set(nodeId, (out = []));
    out.push([id, reply]);
    this.scheduleFlush();
  }

  private onMessage(text: string): void {
    const parsed = parseEnvelope(text);
    if (!parsed.ok) return this.rejectEnvelope(parsed.reason, text);
    const envelope = parsed.envelope;
    if (envelope.replies) {
      for (const [id, reply] of envelope.replies) {
        const kind = this.pending.get(id)?.kind;
        // Unknown id: answered late, after its deadline. A reply of the wrong shape is refused (the request times out).
        if (kind && !isClusterReply(kind, reply)) this.rejectEnvelope(`malformed ${kind} reply`, text);
        else if (reply === false && kind === 'c2c' && (this.pending.get(id) as PendingRequest).hint) this.reroute(this.pending.get(id) as PendingRequest);
        else this.settle(id, reply, 'answered');
      }
    }
    if (!envelope.requests) return;
    const from = envelope.from;
    // In arrival order: C2C is written at once, so messages keep the order they were sent in.
    for (const [id, request] of envelope.requests) {
      let answer: unknown;
      try {
        answer = this.answer(request);
      } catch (err) {
        this.fail(err);
        continue;
      }
      if (isThenable(answer)) answer.then((r) => this.reply(from, id, r), (err) => this.fail(err));
      else this.reply(from, id, answer);
    }
  }

  /** Counts and logs (once per 10 s, with the count since) a message on this node's channel that it cannot use. */
  private rejectEnvelope(reason: string, text: string): void {
    this.core.stats.clusterEnvelopesRejected++;
    const line = this.rejectLog.next(`ignored a message on its channel: ${reason}: ${logText(text)}`, Date.now());
    if (line !== undefined) this.logger.warn(line);
  }

  /** Serves another node's request against this node's sessions only. */
  private answer(request: ClusterRequest): unknown {
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
        if (outcome === 'retired') return this.presence.forget(request.userId).catch((e) => this.fail(e)).then(() => outcome);
        return outcome;
      }
    }
  }

  /** Resolves a request; `outcome` undefined: it was never sent (no other node holds the user), not a request to count. */
  private settle(id: number, reply: unknown, outcome?: IMClusterOutcome): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    // Unanswered on a hint: that node may be hung, so the next C2C to this user go by the script.
    if (entry.hint) {
      if (outcome === 'timeout') entry.hint.doubted = true;
      else if (reply === true && entry.startedAt > entry.hint.confirmedAt) entry.hint.confirmedAt = entry.startedAt;
      this.unhint(entry);
    }
    if (outcome) this.core.metrics.clusterRequest(entry.kind, this.core.clock.now() - entry.startedAt, outcome);
    entry.queue.remove(entry);
    entry.resolve(answerOf(entry, reply));
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
    if (!this.link?.ready || this.stopped) return;
    // Counted when the count is sent: every session here then has its claim sent before it (one
    // connection, in order). Read after the reply, logins meanwhile would look missing and make a
    // login burst re-assert every session each renewal.
    const sessions = this.core.online.size;
    const [wasLive, held] = await Promise.all([this.presence.renew(this.nodeTtlMs), this.presence.ownCount()]);
    if (renewOnly || this.reasserting) return;
    if (!wasLive || held < sessions) await this.reassert();
  }

  /** Removes what dead nodes left in Redis (every node does it; the scripts are atomic, so they may overlap). */
  private async sweep(): Promise<void> {
    if (!this.link?.ready || this.stopped) return;
    try {
      const batches = await this.presence.sweep(100);
      if (batches) this.logger.log(`removed the presence of nodes that are gone (${batches} batches)`);
    } catch (err) {
      this.fail(err);
    }
  }

  private publish(nodeId: string, text: string): Promise<number> {
    return (this.link as ClusterLink).publish(nodeId, text);
  }

  /** Logs a Redis failure; during an outage, at most once per 10 s with a count of the rest. */
  private fail(err: unknown): void {
    // While a connection is down its state change was logged once; the commands failing meanwhile are expected.
    if (!this.link?.ready) {
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
