import { Logger } from '@nestjs/common';
import { IMConnection, TransportKind } from '../../lib/core/connection';
import { IMCore } from '../../lib/core/im-core';
import { IMModuleOptions } from '../../lib/im-options.interface';
import { resolveOptions } from '../../lib/im-options';
import { decodePacket } from '../../lib/protocol/packet-codec';
import { Packet } from '../../lib/protocol/packet';
import { Session } from '../../lib/core/session';
import { ManualClock } from '../../lib/testing';

/** Outbound limits of the real transports at their defaults. */
const MAX_OUTBOUND: Record<TransportKind, number> = { tcp: 6144, udp: 1024, ws: 65536 };
const IDLE_MS: Record<TransportKind, number> = { tcp: 20_000, udp: 10_000, ws: 20_000 };

/** An in-memory connection: records what the core writes and whether it closed it. */
export class FakeConnection implements IMConnection {
  readonly connectionless: boolean;
  readonly maxOutboundBytes: number;
  readonly idleTimeoutMs: number;
  readonly remotePort = 40000;
  /** Every body written while open, decoded, and its size in bytes. */
  readonly received: Packet[] = [];
  readonly receivedBytes: number[] = [];
  /** Bodies the core tried to write after the connection was closed, by either side. */
  writesAfterClose = 0;
  /** Bodies that were not one well-formed packet. */
  malformedWrites: string[] = [];
  closedByCore = false;
  /** The transport reported the close to the core. */
  closeReported = false;
  /** The peer is gone: writes fail (a dead socket, before its close event). */
  broken = false;

  constructor(
    readonly transport: TransportKind,
    readonly remoteAddress: string,
  ) {
    this.connectionless = transport === 'udp';
    this.maxOutboundBytes = MAX_OUTBOUND[transport];
    this.idleTimeoutMs = IDLE_MS[transport];
  }

  write(body: string): boolean {
    if (this.closedByCore || this.closeReported) {
      this.writesAfterClose++;
      return false;
    }
    if (this.broken) return false;
    const decoded = decodePacket(body, { lenient: false });
    if (decoded.ok) {
      this.received.push(decoded.packet);
      this.receivedBytes.push(Buffer.byteLength(body));
    }
    else this.malformedWrites.push(body);
    return true;
  }

  close(): void {
    this.closedByCore = true;
  }

  readonly congested = false;
  /** The core stopped reading this connection (backpressure). */
  paused = false;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }
}

/** Limits kept small so that one run reaches them. */
export const FUZZ_IM_OPTIONS: IMModuleOptions = {
  qos: { maxPending: 40, dedupMaxEntries: 50, dedupMaxBytes: 4096, dedupMaxEntriesPerUser: 20, retransmitIntervalMs: 4000 },
  limits: {
    maxQueuedPackets: 20,
    maxQueuedBytes: 2000,
    maxUnauthenticated: 4,
    maxUnauthenticatedPerAddress: 2,
    loginFailuresPerAddress: 2,
    loginFailuresPerUser: 2,
    loginThrottleMaxEntries: 8,
  },
};

/**
 * An IMCore driven by hand as the transports drive it (openSession, receive,
 * connectionClosed) on a ManualClock, with its events mirrored into a model of
 * who is online, so that each step can be checked against the core's tables.
 */
export class CoreHarness {
  readonly clock = new ManualClock(1_000_000);
  readonly core: IMCore;
  readonly options = resolveOptions({ ...FUZZ_IM_OPTIONS, clock: this.clock });
  /** Open connections and their sessions (closed ones are dropped once the core is told). */
  readonly live = new Map<Session, FakeConnection>();
  /** Every connection ever opened, for the checks on what was written. */
  readonly all: FakeConnection[] = [];
  /** Users online according to the core's online/offline events. */
  readonly onlineByEvents = new Set<string>();

  /**
   * `verifyLogin` accepts the token "ok"; with `stuckUser`, that user's C2S
   * handler never settles, so its session's later packets wait in its queue.
   */
  constructor(verifyLogin: (token: string | undefined) => number | Promise<number>, stuckUser?: string) {
    this.core = new IMCore(this.options);
    this.core.setHooks({
      verifyLogin: (info) => verifyLogin(info.loginToken),
      c2cOffline: () => false,
      c2s: (p) => (p.from === stuckUser ? new Promise<void>(() => undefined) : undefined),
    });
    this.core.events.subscribe((e) => {
      if (e.type === 'online') this.onlineByEvents.add(e.userId);
      if (e.type === 'offline') this.onlineByEvents.delete(e.userId);
    });
    this.core.start();
  }

  /** Opens a session as a transport does: admission first; null when the core refuses the connection. */
  open(transport: TransportKind, remoteAddress: string): { session: Session; connection: FakeConnection } | null {
    const refused = this.core.admit(transport, remoteAddress, transport !== 'udp');
    this.settleCloses();
    if (refused) return null;
    const connection = new FakeConnection(transport, remoteAddress);
    const session = this.core.openSession(connection);
    this.live.set(session, connection);
    this.all.push(connection);
    this.settleCloses();
    return { session, connection };
  }

  receive(session: Session, text: string): void {
    this.core.receive(session, text);
    this.settleCloses();
  }

  /** The peer closed its side: the transport reports it as the close event would. */
  peerClosed(session: Session): void {
    const connection = this.live.get(session);
    if (!connection) return;
    this.live.delete(session);
    connection.closeReported = true;
    this.core.connectionClosed(session);
    this.settleCloses();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.settleCloses();
  }

  /** Lets promise callbacks of asynchronous hooks run, as the event loop would between packets, then delivers closes. */
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.settleCloses();
  }

  /** Delivers the close event for every connection the core closed, as a transport does. */
  settleCloses(): void {
    for (const [session, connection] of this.live) {
      if (!connection.closedByCore) continue;
      this.live.delete(session);
      connection.closeReported = true;
      this.core.connectionClosed(session);
    }
  }

  /** Throws with a description of the first broken invariant. */
  checkInvariants(): void {
    const { core } = this;
    const fail = (what: string) => {
      throw new Error(`invariant broken: ${what}`);
    };
    if (core.stats.handlerErrors !== 0) fail(`${core.stats.handlerErrors} internal errors were caught and logged`);
    if (core.sessionCount !== this.live.size) fail(`sessionCount ${core.sessionCount}, open connections ${this.live.size}`);
    for (const userId of core.online.userIds()) {
      const s = core.online.get(userId) as Session;
      if (s.userId !== userId || s.closed || !this.live.has(s)) fail(`online entry ${userId} points at ${s} (closed=${s.closed})`);
    }
    const tableUsers = [...core.online.userIds()].sort();
    const eventUsers = [...this.onlineByEvents].sort();
    if (tableUsers.join('\n') !== eventUsers.join('\n')) fail(`online table [${tableUsers}] but events say [${eventUsers}]`);
    for (const s of this.live.keys()) {
      const queued = s.queue?.length ?? 0;
      if (queued > this.options.limits.maxQueuedPackets) fail(`${s} holds ${queued} queued packets`);
    }
    const { maxPending, dedupMaxEntries } = this.options.qos;
    if (core.pendingQoS > maxPending) fail(`pendingQoS ${core.pendingQoS} > ${maxPending}`);
    const { entries, bytes } = core.dedupSize;
    if (entries > dedupMaxEntries) fail(`dedup entries ${entries} > ${dedupMaxEntries}`);
    if (bytes > this.options.qos.dedupMaxBytes) fail(`dedup bytes ${bytes} > ${this.options.qos.dedupMaxBytes}`);
    const anonymous = [...this.live.keys()].filter((s) => !s.authenticated).length;
    if (core.unauthenticatedCount !== anonymous) fail(`unauthenticatedCount ${core.unauthenticatedCount}, open sessions never logged in ${anonymous}`);
    if (anonymous > this.options.limits.maxUnauthenticated) fail(`${anonymous} sessions never logged in > ${this.options.limits.maxUnauthenticated}`);
    for (const connection of this.all) {
      if (connection.malformedWrites.length) fail(`wrote a malformed packet: ${connection.malformedWrites[0].slice(0, 200)}`);
      if (connection.writesAfterClose) fail(`wrote to a connection after closing it`);
    }
  }

  /** Closes every session and stops the core; nothing may be left behind. */
  shutdown(): void {
    this.core.closeAll('shutdown');
    this.settleCloses();
    this.core.stop();
    if (this.core.sessionCount !== 0) throw new Error(`${this.core.sessionCount} sessions left after closeAll`);
    if (this.core.pendingQoS !== 0) throw new Error(`${this.core.pendingQoS} QoS packets left after stop`);
    if (this.core.online.size !== 0) throw new Error(`${this.core.online.size} users online after closeAll`);
  }
}

/** Silences the core's logger for a suite: bad input is logged by design (jest gives each file its own Logger). */
export function quietLogger(): void {
  beforeAll(() => Logger.overrideLogger(false));
}
