import { IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { SERVER_USER_ID } from '../protocol/packet-type';
import { ackPacket } from '../protocol/payloads';
import { AppendResult, IMMessageStore } from '../store/message-store';
import type { CoreContext } from './core-context';
import { HookVerdict, isRefusal, isThenable } from './core-hooks';
import type { Delivery } from './delivery';
import { logText } from './log-text';
import type { Outbound } from './outbound';
import type { RemoteRouter } from './remote-router';
import type { Session } from './session';
import type { StorePath } from './store-path';

/**
 * Where a client's data packet goes (PROTOCOL.md §10.1-§10.2): the sender
 * checks (forged `from`, over-long fields, QoS without fp, a paced session's
 * resend), C2S to the application with ACK and dedup, and C2C through the
 * application's handlers to the recipient's session here, another cluster
 * node, the MobileIMSDK-Web bridge or the offline path (handler or message
 * store), which decides the sender's ACK. With a durable store a QoS C2C is
 * written through the store before that ACK. Packets coming the other way
 * (from another node, from the bridge) are delivered here too. Synchronous
 * handlers keep the whole path synchronous: a promise appears only where a
 * hook, the store or another node answers later.
 */
export class MessageRouting {
  constructor(
    private readonly ctx: CoreContext,
    private readonly out: Outbound,
    private readonly delivery: Delivery,
    private readonly storePath: StorePath,
  ) {}

  /** §10: a data packet of a logged-in session; checks, then C2S or C2C. */
  data(session: Session, p: Packet): Promise<unknown> | void {
    // QUIRK-5 fix: a session speaks only as its own user.
    if (p.from !== session.userId) {
      this.ctx.stats.forgedSender++;
      this.ctx.metrics.refused(session.transport, IMErrors.FORGED_SENDER.id);
      this.ctx.abuse.session(session, IMErrors.FORGED_SENDER.id, `from=${p.from}`);
      return this.out.sendError(session, IMErrors.FORGED_SENDER.wireCode, IMErrors.FORGED_SENDER.message());
    }
    // Bounded before any table or map sees them: memory, and V8's length-only hash of very long strings.
    const { maxFingerprintLength, maxUserIdLength } = this.ctx.options.limits;
    if ((p.fp !== undefined && p.fp.length > maxFingerprintLength) || (p.to !== undefined && p.to.length > maxUserIdLength)) {
      this.ctx.stats.fieldTooLong++;
      this.ctx.metrics.badInput(session.transport, IMErrors.FIELD_TOO_LONG.id);
      const what = p.to !== undefined && p.to.length > maxUserIdLength ? `to of ${p.to.length} chars` : `fp of ${p.fp?.length} chars`;
      this.ctx.abuse.session(session, IMErrors.FIELD_TOO_LONG.id, what);
      return this.out.sendError(session, IMErrors.FIELD_TOO_LONG.wireCode, IMErrors.FIELD_TOO_LONG.message(what));
    }
    // QUIRK-8 fix: a QoS packet without fp cannot be ACKed; SDKs drop such packets, so refuse it.
    if (p.QoS && p.fp === undefined) {
      this.ctx.metrics.badInput(session.transport, IMErrors.MISSING_FINGERPRINT.id);
      return this.out.sendError(session, IMErrors.MISSING_FINGERPRINT.wireCode, IMErrors.MISSING_FINGERPRINT.message());
    }
    if (p.to === SERVER_USER_ID) {
      this.ctx.stats.c2s++;
      this.ctx.metrics.message(session.transport, 'c2s');
      const verdict = this.ctx.hooks.beforeC2S?.(p, session);
      if (isThenable(verdict)) return verdict.then((v) => this.c2s(session, p, v));
      return this.c2s(session, p, verdict);
    }
    // A session that was paced resends what waited past its SDK's resend age; what the server already
    // took responsibility for (ACKed) is ACKed again, not delivered twice.
    if (session.paced && p.QoS && this.ctx.dedup.seen(p.from as string, p.fp as string, this.ctx.now())) {
      this.ctx.stats.c2cResendsSuppressed++;
      this.out.write(session, ackPacket(p.fp as string, p.to as string, p.from));
      return;
    }
    this.ctx.stats.c2c++;
    this.ctx.metrics.message(session.transport, 'c2c');
    const verdict = this.ctx.hooks.c2c?.(p, session);
    if (isThenable(verdict)) return verdict.then((v) => this.c2c(session, p, v));
    return this.c2c(session, p, verdict);
  }

  /** §10.1 after the before-hook: ACK and dedup, then the C2S handlers. */
  private c2s(session: Session, p: Packet, verdict: HookVerdict): Promise<unknown> | void {
    if (!this.allowed(session, verdict, p.fp)) return;
    if (p.QoS) {
      const fp = p.fp as string;
      const duplicate = this.ctx.dedup.checkAndRecord(p.from as string, fp, this.ctx.now());
      this.out.write(session, ackPacket(fp, SERVER_USER_ID, p.from));
      if (duplicate) {
        this.ctx.stats.c2sDuplicates++;
        return;
      }
    }
    const result = this.ctx.hooks.c2s?.(p, session);
    if (isThenable(result)) return result.then((v) => void this.allowed(session, v, p.fp));
    this.allowed(session, result, p.fp);
  }

  /** §10.2 after the C2C handlers: forward, or take the offline path. */
  private c2c(session: Session, p: Packet, verdict: HookVerdict): Promise<unknown> | void {
    if (!this.allowed(session, verdict, p.fp)) return;
    const to = p.to;
    const target = to === undefined ? undefined : this.ctx.online.get(to);
    const behind = to === undefined ? undefined : session.crossNode?.get(to);
    const durable = this.ctx.store?.durable === true && p.QoS === true && to !== undefined;
    // Crash safety, the common case: a recipient online here, nothing of this session still on its way to it.
    if (durable && target && !behind) return this.writeThrough(session, p, to as string, target);
    // Otherwise in the store first (before the sender's ACK), then routed as without a store.
    const through = durable ? this.storePath.append(to as string, p, 'through') : undefined;
    const then = (next: (t: AppendResult | undefined) => Promise<unknown> | void): Promise<unknown> | void =>
      through ? through.then(next) : next(undefined);
    if (!target && this.ctx.remote && to !== undefined) return this.sendToNode(session, to, Promise.resolve(then((t) => this.forwardAcross(session, p, t))));
    // The recipient came to this node while earlier messages to it are still on their way to its old one: after them.
    if (behind && to !== undefined) return this.sendToNode(session, to, behind.tail.then(() => then((t) => this.route(session, p, t))));
    return then((t) => this.route(session, p, t, target));
  }

  /**
   * Crash safety with a durable store: in the store before the sender's ACK, out
   * of it at the recipient's ACK. The recipient online here gets the packet at
   * once and the session goes on (the store applies one user's operations in
   * call order, so an early ACK's removal follows the hold); only the sender's
   * ACK waits for the store.
   */
  private writeThrough(session: Session, p: Packet, to: string, target: Session): Promise<unknown> | void {
    const store = this.ctx.store as IMMessageStore;
    const written = this.delivery.forward(target, p, true);
    if (!written) return this.storePath.append(to, p, 'through').then((r) => this.route(session, p, r));
    const held = store.hold !== undefined;
    if (held && typeof written === 'object') written.held = true;
    // A held copy (cheaper) where the store offers it, else a queued one.
    const kept = held ? this.storePath.track((store.hold as NonNullable<IMMessageStore['hold']>).call(store, to, p)) : this.storePath.append(to, p, 'through');
    this.ctx.fireAndForget(this.ctx.hooks.c2cDelivered?.(p, session));
    kept.then((r) => {
      // Refused by the store, it was still written to the recipient: ACKed as delivered, and if
      // its session ends first it is offered to the store again (or reported lost), not assumed kept.
      if (!r.ok) {
        if (held) this.storePath.countRefusal(to, p, 'through', r);
        if (typeof written === 'object') written.stored = written.held = false;
      }
      this.ackC2C(session, p);
    });
  }

  /**
   * Local session, else another node, else the bridge or the offline path.
   * `through`: the answer of a durable store the packet was written through (already kept when ok).
   */
  private route(
    session: Session, p: Packet, through: AppendResult | undefined, target = p.to === undefined ? undefined : this.ctx.online.get(p.to),
  ): Promise<unknown> | void {
    if (target && this.delivery.forward(target, p, through?.ok === true)) return this.delivered(session, p);
    if (!target && this.ctx.remote && p.to !== undefined) return this.forwardAcross(session, p, through);
    return target ? this.offline(session, p, through) : this.across(session, p, through);
  }

  /** To the node the cluster says has the recipient; no node: the bridge or the offline path. */
  private async forwardAcross(session: Session, p: Packet, through?: AppendResult): Promise<unknown> {
    const outcome = await (this.ctx.remote as RemoteRouter).forwardC2C(p);
    if (outcome === 'delivered') return this.delivered(session, p);
    if (outcome === 'absent') return this.across(session, p, through);
    this.unknownOutcome(session, p);
  }

  /**
   * Sent to another node that did not answer in time: it may have written the packet, so neither
   * the offline path (a second copy later) nor an ACK (it may be lost). The sender's QoS
   * retransmits the same fp, which is routed again; the recipient's SDK drops a duplicate fp.
   */
  private unknownOutcome(session: Session, p: Packet): void {
    this.ctx.stats.crossNodeUnknown++;
    this.ctx.abuse.process(IMErrors.CROSS_NODE_UNKNOWN.id, `${IMErrors.CROSS_NODE_UNKNOWN.message()} (C2C from ${logText(session.userId ?? '')} to ${logText(p.to ?? '')})`);
  }

  /**
   * A C2C on its way to another node does not hold the session's later packets: many are in
   * flight at once (the router keeps their order per destination node), so local traffic and
   * keepalives go on while Redis or another node is slow. Past `limits.maxCrossNodeInFlight`
   * the session waits for this one, as it does behind a slow handler.
   */
  private sendToNode(session: Session, to: string, outcome: Promise<unknown>): Promise<unknown> | void {
    const settled = outcome.then(undefined, (err) => this.ctx.handlerFailed(session, err));
    const sends = (session.crossNode ??= new Map());
    let mine = sends.get(to);
    if (mine) {
      mine.count++;
      mine.tail = settled;
    } else sends.set(to, (mine = { count: 1, tail: settled }));
    const record = mine;
    session.crossNodeInFlight++;
    void settled.then(() => {
      session.crossNodeInFlight--;
      if (--record.count === 0 && sends.get(to) === record) sends.delete(to);
    });
    if (session.crossNodeInFlight < this.ctx.options.limits.maxCrossNodeInFlight) return;
    this.ctx.stats.crossNodeWaits++;
    this.ctx.abuse.session(session, IMErrors.CROSS_NODE_BACKLOG.id, `${session.crossNodeInFlight} C2C in flight to other nodes`);
    return settled;
  }

  /**
   * Online nowhere here: across the MobileIMSDK-Web bridge if there is one. The
   * sender is ACKed once the broker confirmed the publish; otherwise the offline path.
   */
  private across(session: Session, p: Packet, through?: AppendResult): Promise<unknown> | void {
    if (!this.ctx.bridge || p.to === undefined) return this.offline(session, p, through);
    return this.ctx.bridge.forwardC2C(p, session.userId as string).then((ok) => {
      if (!ok) return this.offline(session, p, through);
      // The far side delivers it: not ours to keep.
      if (through?.ok) this.storePath.remove(p.to as string, p.fp as string);
      if (p.QoS) this.ackC2C(session, p);
    });
  }

  /** The ACK of a C2C to its sender, on the recipient's behalf; a paced session's fp is remembered (its resends are ACKed, not delivered again). */
  private ackC2C(session: Session, p: Packet): void {
    if (session.paced) this.ctx.dedup.checkAndRecord(p.from as string, p.fp as string, this.ctx.now());
    this.out.write(session, ackPacket(p.fp as string, p.to as string, p.from));
  }

  /** C2C written to the recipient: the delivered hook, then the ACK to the sender on its behalf. */
  private delivered(session: Session, p: Packet): void {
    this.ctx.fireAndForget(this.ctx.hooks.c2cDelivered?.(p, session));
    if (p.QoS) this.ackC2C(session, p);
  }

  /**
   * The offline path (§10.2): an `@OnC2COffline` handler takes over (it decides
   * whether the sender gets its ACK); without one, the message store keeps a QoS
   * message and the sender is ACKed only once it did, or told why not.
   */
  private offline(session: Session, p: Packet, through?: AppendResult): Promise<unknown> | void {
    this.ctx.stats.c2cOffline++;
    if (this.ctx.hooks.c2cOffline) {
      // The handler's call: a copy written through the store is not kept behind its back.
      if (through?.ok) this.storePath.remove(p.to as string, p.fp as string);
      const stored = this.ctx.hooks.c2cOffline(p, session);
      if (isThenable(stored)) return stored.then((ok) => this.offlineAck(session, p, ok));
      return this.offlineAck(session, p, stored);
    }
    if (!this.ctx.store || !p.QoS || p.fp === undefined || p.to === undefined) return this.offlineAck(session, p, false);
    if (through) return this.storedAck(session, p, through, true);
    return this.storePath.append(p.to, p, 'offline').then((r) => this.storedAck(session, p, r, false));
  }

  /** The store's answer for an offline C2C: the ACK, or error `IM_STORE_REFUSED` with the reason (never a silent ACK). */
  private storedAck(session: Session, p: Packet, r: AppendResult, announce: boolean): void {
    if (!r.ok) {
      this.out.sendError(session, IMErrors.STORE_REFUSED.wireCode, IMErrors.STORE_REFUSED.message(r.reason), p.fp);
      return;
    }
    if (announce && !r.duplicate) this.storePath.announceStored(p.to as string, p, 'offline');
    this.ackC2C(session, p);
  }

  private offlineAck(session: Session, p: Packet, stored: boolean): void {
    if (!p.QoS) return;
    if (stored === true) this.ackC2C(session, p);
    // Otherwise the reference stays silent and the sender's QoS reports "lost" after ~15 s;
    // a client that asked for it learns at once.
    else if (session.notifyUndeliverable) this.out.sendError(session, IMErrors.UNDELIVERABLE.wireCode, IMErrors.UNDELIVERABLE.message(), p.fp);
  }

  /** Delivers a C2C packet that another node routed here; false if the user has no session here. */
  deliverRemoteC2C(p: Packet): boolean {
    const target = p.to === undefined ? undefined : this.ctx.online.get(p.to);
    // A durable store: the sender's node wrote it through, so the recipient's ACK removes it.
    return target !== undefined && this.delivery.forward(target, p, this.ctx.store?.durable === true && p.QoS === true) !== false;
  }

  /**
   * Delivers a packet that arrived over the MobileIMSDK-Web bridge: to the
   * recipient's session here or, in a cluster, on another node; else the
   * offline path. Never sent back across the bridge. The hooks get a null
   * session: the sender is on the far side.
   */
  async deliverBridged(p: Packet): Promise<'delivered' | 'stored' | 'dropped' | 'unknown'> {
    const target = p.to === undefined ? undefined : this.ctx.online.get(p.to);
    const outcome = target ? (this.delivery.forward(target, p) ? 'delivered' : 'absent') : this.ctx.remote ? await this.ctx.remote.forwardC2C(p) : 'absent';
    // Maybe written on the other node: not stored as well (a second copy).
    if (outcome === 'unknown') {
      this.ctx.stats.crossNodeUnknown++;
      return 'unknown';
    }
    if (outcome === 'delivered') {
      this.ctx.fireAndForget(this.ctx.hooks.c2cDelivered?.(p, null));
      return 'delivered';
    }
    this.ctx.stats.c2cOffline++;
    if (this.ctx.hooks.c2cOffline) return (await this.ctx.hooks.c2cOffline(p, null)) === true ? 'stored' : 'dropped';
    if (!this.ctx.store || !p.QoS || p.fp === undefined || p.to === undefined) return 'dropped';
    return (await this.storePath.append(p.to, p, 'offline')).ok ? 'stored' : 'dropped';
  }

  /** Applies a hook verdict: true to go on; a refusal is reported to the client, with the refused packet's fp. */
  private allowed(session: Session, verdict: HookVerdict, fp?: string): boolean {
    if (verdict === false) return false;
    if (isRefusal(verdict)) {
      this.out.sendError(session, verdict.code, verdict.message, fp);
      return false;
    }
    return true;
  }
}
