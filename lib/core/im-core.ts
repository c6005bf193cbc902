import { Subject } from 'rxjs';
import { IMErrorDefinition } from '../errors/im-error-codes';
import { ResolvedIMOptions } from '../im-options.interface';
import type { IMCloseReason } from '../metrics/close-reason';
import type { IMMetrics } from '../metrics/im-metrics';
import { Packet } from '../protocol/packet';
import { IMMessageStore } from '../store/message-store';
import type { BridgeHostPort, BridgePort } from './bridge-port';
import type { Clock } from './clock';
import type { IMClusterPort } from './cluster-port';
import type { IMConnection, TransportKind } from './connection';
import { CoreContext } from './core-context';
import type { IMCoreHooks } from './core-hooks';
import { Delivery } from './delivery';
import type { DeliveryResult } from './delivery-result';
import { DrainReport, GracefulDrain } from './drain';
import type { IMCoreEvent, IMStats } from './im-events';
import { Liveness } from './liveness';
import { Login } from './login';
import { MessageRouting } from './message-routing';
import type { OnlineTable } from './online-table';
import { Outbound } from './outbound';
import type { RemoteRouter } from './remote-router';
import { ServerPush } from './s2c-push';
import type { Session } from './session';
import { SessionLifecycle } from './session-lifecycle';
import { SessionPipeline } from './session-pipeline';
import type { IMSessionSink } from './session-sink';
import { StorePath } from './store-path';

export type { DeliveryResult, DeliveryStatus } from './delivery-result';
export type { DrainReport } from './drain';

/**
 * The protocol core (PROTOCOL.md §4-§10): sessions, login, the online table,
 * routing and QoS, whatever the transport. Transports hand it complete frame
 * bodies; it answers through {@link IMConnection}. Each session's packets are
 * handled strictly in order: while an asynchronous hook runs, later packets
 * of that session wait in its queue.
 *
 * This class is the façade the rest of the library sees (as `IMSessionSink`,
 * `IMClusterPort`, the bridge's and PushService's core); the work is done by
 * parts, one concern each, that share one {@link CoreContext}:
 * `session-pipeline.ts` (inbound order, budgets, dispatch), `login.ts` (login
 * and duplicate-login rules), `message-routing.ts` (C2S and C2C),
 * `delivery.ts` (recipient QoS, backlog), `s2c-push.ts` (server pushes),
 * `outbound.ts` (writes), `session-lifecycle.ts` (open, close, detach),
 * `store-path.ts` (the message store, lost packets), `liveness.ts` (the tick,
 * idle and login timeouts) and `drain.ts` (graceful drain). Each part gets
 * the parts below it in its constructor; the order below is that tree.
 */
export class IMCore implements IMSessionSink, IMClusterPort, BridgeHostPort {
  /** user id → session (PROTOCOL.md §4). */
  readonly online: OnlineTable;
  /** Operational counters. */
  readonly stats: IMStats;
  /** Session and delivery events (emitted only while observed); `PushService.events$` publishes them as plain data. */
  readonly events: Subject<IMCoreEvent>;
  readonly clock: Clock;
  /** Where undelivered messages wait for their recipient's next login (`store` option); null with `store: false`. */
  readonly store: IMMessageStore | null;

  private readonly ctx: CoreContext;
  private readonly storePath: StorePath;
  private readonly lifecycle: SessionLifecycle;
  private readonly out: Outbound;
  private readonly delivery: Delivery;
  private readonly s2c: ServerPush;
  private readonly login: Login;
  private readonly routing: MessageRouting;
  private readonly pipeline: SessionPipeline;
  private readonly liveness: Liveness;
  private readonly drainer: GracefulDrain;

  constructor(options: ResolvedIMOptions) {
    // The send table calls back into parts built just below; it fires only from the tick or a session's end.
    const ctx = (this.ctx = new CoreContext(options, {
      retransmit: (e) => this.delivery.retransmit(e),
      lost: (es) => this.storePath.undelivered(es, 'retransmit-exhausted'),
    }));
    ({ online: this.online, stats: this.stats, events: this.events, clock: this.clock, store: this.store } = ctx);
    this.storePath = new StorePath(ctx);
    this.lifecycle = new SessionLifecycle(ctx, this.storePath);
    this.out = new Outbound(ctx, this.lifecycle, this.storePath);
    this.delivery = new Delivery(ctx, this.out, this.storePath);
    this.s2c = new ServerPush(ctx, this.out, this.storePath);
    this.login = new Login(ctx, this.lifecycle, this.out, this.delivery);
    this.routing = new MessageRouting(ctx, this.out, this.delivery, this.storePath);
    this.pipeline = new SessionPipeline(ctx, this.lifecycle, this.out, this.login, this.routing, this.delivery);
    this.liveness = new Liveness(ctx, this.lifecycle, this.pipeline);
    this.drainer = new GracefulDrain(ctx, this.storePath);
  }

  /** Where counters with transport and reason labels go (no-op unless metrics are on); set by the metrics provider. */
  get metrics(): IMMetrics {
    return this.ctx.metrics;
  }

  set metrics(metrics: IMMetrics) {
    this.ctx.metrics = metrics;
  }

  /** Installs the application's hooks (built by the handler explorer). */
  setHooks(hooks: IMCoreHooks): void {
    this.ctx.hooks = hooks;
  }

  /** Routes what is addressed to users who are not on this node (the Redis cluster). */
  setRemoteRouter(remote: RemoteRouter | undefined): void {
    this.ctx.remote = remote;
  }

  /** Sends what is addressed to users online nowhere here across the MobileIMSDK-Web bridge (`lib/bridge`). */
  setBridge(bridge: BridgePort | undefined): void {
    this.ctx.bridge = bridge;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts the shared timer tick (idle timeouts, QoS). */
  start(): void {
    this.liveness.start();
  }

  /** Runs due timers now; the tick calls it, and so can tests. */
  tick(): void {
    this.liveness.tick();
  }

  /** Stops timers and hands every pending QoS packet over as undelivered ('shutdown'): kept by a durable store, else reported lost. */
  stop(): void {
    this.liveness.stop();
    this.drainer.handOverAll();
  }

  /**
   * Graceful shutdown, first half (issue 11): from now on only ACKs, keepalives
   * and logouts are processed; waits up to `timeoutMs` (real time) for the ACKs
   * of packets whose recipient is still connected here, then hands what is still
   * unACKed to the store or reports it lost. The caller closes the sessions.
   */
  drain(timeoutMs: number): Promise<DrainReport> {
    return this.drainer.drain(timeoutMs);
  }

  /** Closes every session (graceful shutdown). */
  closeAll(reason: IMCloseReason): void {
    this.lifecycle.closeAll(reason);
  }

  /** Waits for the store operations under way (shutdown: after the sessions closed), then closes a store the core made. */
  closeStore(): Promise<void> {
    return this.storePath.close();
  }

  // ---------------------------------------------------------------- gauges

  /** Sessions open on every transport. */
  get sessionCount(): number {
    return this.ctx.sessions.size;
  }

  /** Packets waiting for an ACK. */
  get pendingQoS(): number {
    return this.ctx.sendQoS.size;
  }

  /** Sessions that have not logged in yet. */
  get unauthenticatedCount(): number {
    return this.ctx.admission.unauthenticated;
  }

  /** C2S fingerprints remembered for dedup, and their estimated bytes. */
  get dedupSize(): { entries: number; bytes: number } {
    return { entries: this.ctx.dedup.size, bytes: this.ctx.dedup.bytes };
  }

  /** Entries in the C2S dedup table. */
  get dedupEntries(): number {
    return this.ctx.dedup.size;
  }

  // ---------------------------------------------------------------- transport side (IMSessionSink)

  /**
   * Connection admission, asked by a transport before it opens a session for
   * `remoteAddress` (`stream`: TCP or WebSocket, which hold a file descriptor).
   * Returns the refusal, or null to go on; to admit it may close the oldest
   * session that has not logged in (`limits.maxUnauthenticated`).
   */
  admit(transport: TransportKind, remoteAddress: string, stream: boolean): IMErrorDefinition | null {
    return this.lifecycle.admit(transport, remoteAddress, stream);
  }

  /** A transport opened a session (TCP accept, WebSocket upgrade, first UDP datagram). */
  openSession(connection: IMConnection): Session {
    const now = this.clock.now();
    const session = this.lifecycle.open(connection, now);
    this.liveness.watch(session, now);
    return session;
  }

  /** One complete frame body arrived on `session`. */
  receive(session: Session, text: string): void {
    this.pipeline.receive(session, text);
  }

  /**
   * The transport rejected input before it became a packet (oversize frame,
   * binary WebSocket frame, bad UTF-8...). Stream transports close; UDP drops
   * the datagram and keeps the session (QUIRK-9 fix).
   */
  rejectFrame(session: Session, error: IMErrorDefinition, detail?: string): void {
    this.pipeline.rejectFrame(session, error, detail);
  }

  /** The transport's connection is gone (peer close, error, or our own close completing). */
  connectionClosed(session: Session): void {
    this.lifecycle.connectionClosed(session);
  }

  /**
   * Ends a session: detaches its user and closes (TCP/WS) or forgets (UDP) the
   * connection. `detail`: the text of the `offline` event's `reason` and of the
   * log line (an error id, or the reason itself).
   */
  closeSession(session: Session, reason: IMCloseReason, detail: string = reason): void {
    this.lifecycle.closeSession(session, reason, detail);
  }

  // ---------------------------------------------------------------- server side (PushService, admin, cluster, bridge)

  /**
   * Sends a server-originated packet (S2C) to `userId`. With `packet.QoS` the
   * promise settles when the client ACKs or the packet is declared lost.
   * A user on another node is reached through the cluster unless `localOnly`.
   */
  push(userId: string, packet: Packet, localOnly = false, store = false): Promise<DeliveryResult> {
    return this.s2c.push(userId, packet, localOnly, store);
  }

  /** Kicks `userId` on this node with code 2 (application/admin) and an optional reason. False if not here. */
  kick(userId: string, reason?: string): boolean {
    return this.login.kick(userId, reason);
  }

  /** Kicks `userId` wherever it is online (this node or, in a cluster, another). */
  kickAnywhere(userId: string, reason?: string): Promise<boolean> {
    return this.login.kickAnywhere(userId, reason);
  }

  /**
   * Another node's login of `userId` supersedes this node's session (the
   * duplicate-login rules across nodes, PROTOCOL.md §7.3). Returns 'stale' when
   * the new login is the older device and must be refused instead.
   */
  supersede(userId: string, clientTime: number, sessionId?: number): 'kicked' | 'retired' | 'stale' | 'absent' {
    return this.login.supersede(userId, clientTime, sessionId);
  }

  /** Refuses a login that another node found stale (its device logged in earlier than the online one). */
  rejectStaleLogin(userId: string, session: Session): void {
    this.login.rejectStaleLogin(userId, session);
  }

  /** Delivers a C2C packet that another node routed here; false if the user has no session here. */
  deliverRemoteC2C(p: Packet): boolean {
    return this.routing.deliverRemoteC2C(p);
  }

  /**
   * Delivers a packet that arrived over the MobileIMSDK-Web bridge: to the
   * recipient's session here or, in a cluster, on another node; else the
   * offline path. Never sent back across the bridge.
   */
  deliverBridged(p: Packet): Promise<'delivered' | 'stored' | 'dropped' | 'unknown'> {
    return this.routing.deliverBridged(p);
  }
}
