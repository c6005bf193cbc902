import { Packet } from '../protocol/packet';
import { PacketType } from '../protocol/packet-type';
import { QoSOutcome } from '../qos/send-qos-table';
import { AppendResult } from '../store/message-store';
import type { CoreContext } from './core-context';
import type { DeliveryResult, DeliveryStatus } from './delivery-result';
import type { Outbound } from './outbound';
import type { StorePath } from './store-path';

/**
 * Server-originated packets (S2C, `PushService`): to the user's session here,
 * else through the cluster to the node that has it, else across the bridge,
 * else offline or (with `store: true`) into the message store. With QoS the
 * promise settles with the recipient's ACK, or when the packet is given up on.
 */
export class ServerPush {
  constructor(
    private readonly ctx: CoreContext,
    private readonly out: Outbound,
    private readonly storePath: StorePath,
  ) {}

  /**
   * Sends a server-originated packet (S2C) to `userId`. With `packet.QoS` the
   * promise settles when the client ACKs or the packet is declared lost.
   * A user on another node is reached through the cluster unless `localOnly`.
   */
  push(userId: string, packet: Packet, localOnly = false, store = false): Promise<DeliveryResult> {
    // Only a QoS packet can wait in the store: it leaves only on the recipient's ACK.
    store &&= this.ctx.store !== null && packet.QoS === true && packet.fp !== undefined;
    if (store && this.ctx.store?.durable && this.ctx.online.get(userId)) {
      // Written through first, so a crash before the ACK leaves it for the next login.
      return this.storePath.append(userId, packet, 'through').then((r) => this.pushNow(userId, packet, localOnly, store, r.ok));
    }
    return this.pushNow(userId, packet, localOnly, store, false);
  }

  private pushNow(userId: string, packet: Packet, localOnly: boolean, store: boolean, kept: boolean): Promise<DeliveryResult> {
    const { ctx, out } = this;
    const target = ctx.online.get(userId);
    if (!target) {
      if (localOnly) return Promise.resolve({ userId, status: 'offline', fp: packet.fp });
      return this.pushElsewhere(userId, packet, store, kept);
    }
    const body = out.encode(packet);
    if (!out.fits(body, target)) return Promise.resolve({ userId, status: 'too-large', fp: packet.fp });
    ctx.metrics.message(target.transport, 's2c');
    ctx.metrics.packetOut(target.transport, PacketType.DATA);
    if (!packet.QoS || packet.fp === undefined) {
      const ok = out.writeTo(target, body);
      return Promise.resolve({ userId, status: ok ? 'sent' : 'offline', fp: packet.fp });
    }
    const fp = packet.fp;
    return new Promise<DeliveryResult>((resolve, reject) => {
      const settle = (status: DeliveryStatus) => resolve({ userId, status, fp });
      const entry = ctx.sendQoS.track(userId, fp, packet, body, ctx.clock.now(), (outcome: QoSOutcome, e) => {
        // Given up on, a storable push is settled by the store path once the store answered.
        if (outcome === 'lost' && ctx.store && (e.storable || e.stored)) return;
        settle(outcome);
      }, ctx.policies[target.transport]);
      if (!entry) {
        reject(new Error(`fp ${fp} is already awaiting an ACK from ${userId}`));
        return;
      }
      entry.storable = store;
      entry.stored = kept;
      if (store || kept) this.storePath.settleWhenStored(entry, settle);
      if (!out.writeTo(target, body)) {
        ctx.sendQoS.untrack(entry);
        if (store) this.storeFor(userId, packet, kept).then(resolve);
        else resolve({ userId, status: 'offline', fp });
      }
    });
  }

  /** Not on this node: the node that has the user, else the bridge, else (`store`) the message store, else offline. */
  private async pushElsewhere(userId: string, packet: Packet, store: boolean, kept: boolean): Promise<DeliveryResult> {
    const offline: DeliveryResult = { userId, status: 'offline', fp: packet.fp };
    const remote = this.ctx.remote;
    const result = (remote && (await remote.push(userId, packet))) ?? (await this.pushAcross(packet, offline));
    return store && result.status === 'offline' ? this.storeFor(userId, packet, kept) : result;
  }

  /** A push with `store: true` for a user online nowhere: kept for the next login, or offline with the store's reason. */
  private async storeFor(userId: string, packet: Packet, kept: boolean): Promise<DeliveryResult> {
    // Written through already (`kept`): it is in the store; only the event is left to announce.
    const r: AppendResult = kept ? { ok: true, duplicate: false } : await this.storePath.append(userId, packet, 'offline');
    if (!r.ok) return { userId, status: 'offline', fp: packet.fp, storeRefused: r.reason };
    if (kept) this.storePath.announceStored(userId, packet, 'offline');
    return { userId, status: 'stored', fp: packet.fp };
  }

  /** A user online nowhere here: across the bridge if there is one, else offline. */
  private async pushAcross(packet: Packet, offline: DeliveryResult): Promise<DeliveryResult> {
    const bridge = this.ctx.bridge;
    if (!bridge) return offline;
    return (await bridge.push(packet)) ? { ...offline, status: 'bridged' } : offline;
  }
}
