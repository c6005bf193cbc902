import { Inject, Injectable, Logger } from '@nestjs/common';
import { IM_CLUSTER } from '../cluster/cluster.constants';
import type { RedisCluster } from '../cluster/redis-cluster';
import { randomUUID } from 'crypto';
import { Observable } from 'rxjs';
import { IMEvent, IMStats, toPublicEvent } from '../core/im-events';
import { logText } from '../core/log-text';
import { IMEventStream } from './im-event-stream';
import { DeliveryResult, IMCore } from '../core/im-core';
import { Packet } from '../protocol/packet';
import { PacketType, SERVER_USER_ID } from '../protocol/packet-type';

/** Options of a server-to-client send. */
export interface PushOptions {
  /** Ask the client to ACK, retransmit, and settle with delivered/lost. Default true. */
  qos?: boolean;
  /** Application message type. Default -1. */
  typeu?: number;
  /** Fingerprint; generated when QoS is on and none is given. */
  fp?: string;
  /**
   * Sender shown to the client. Default "0" (the server); a stored C2C message
   * can be replayed as coming from its original sender.
   */
  from?: string;
}

/**
 * Server-to-client sends (S2C) with QoS-tracked delivery, kicks and presence.
 * Each send settles with `delivered` (ACKed), `lost` (no ACK after the
 * retransmissions), `offline` (no session, or the write failed), `too-large`
 * (over what the user's transport and SDK accept) or `sent` (no QoS); with the
 * MobileIMSDK-Web bridge, `bridged` (online nowhere here, handed to the far side);
 * in a cluster, `unknown` (the user's node did not answer in time: maybe delivered).
 */
@Injectable()
export class PushService {
  private readonly logger = new Logger('PushService');
  private readonly events: IMEventStream<IMEvent>;

  constructor(
    private readonly core: IMCore,
    @Inject(IM_CLUSTER) private readonly cluster: RedisCluster | null,
  ) {
    this.events = new IMEventStream<IMEvent>(
      (err) => this.logger.error(`an events$ subscriber threw: ${logText((err as Error)?.message ?? err)}`, (err as Error)?.stack),
      (subscriber) => {
        const subscription = core.events.subscribe((e) => subscriber.next(toPublicEvent(e)));
        return () => subscription.unsubscribe();
      },
    );
  }

  /** Sends `data` (a string, or an object sent as JSON text) to one user. */
  send(userId: string, data: string | object, options: PushOptions = {}): Promise<DeliveryResult> {
    return this.core.push(userId, this.packet(userId, data, options, options.fp));
  }

  /** Sends to several users; one fingerprint serves the batch, as QoS is keyed by recipient. */
  sendMany(userIds: Iterable<string>, data: string | object, options: PushOptions = {}): Promise<DeliveryResult[]> {
    const qos = options.qos ?? true;
    const fp = qos ? options.fp ?? randomUUID() : undefined;
    const dataContent = typeof data === 'string' ? data : JSON.stringify(data);
    const sends: Promise<DeliveryResult>[] = [];
    for (const userId of new Set(userIds)) sends.push(this.core.push(userId, this.packet(userId, dataContent, options, fp)));
    return Promise.all(sends);
  }

  /** Sends to every user online on this node (each node of a cluster broadcasts to its own users). */
  broadcast(data: string | object, options: PushOptions = {}): Promise<DeliveryResult[]> {
    return this.sendMany([...this.core.online.userIds()], data, options);
  }

  /** Kicks a user out (kick-out code 2, with an optional reason) on whichever node it is. False if not online. */
  kick(userId: string, reason?: string): Promise<boolean> {
    return this.core.kickAnywhere(userId, reason);
  }

  /** Whether the user has a session on this node. */
  isOnline(userId: string): boolean {
    return this.core.online.get(userId) !== undefined;
  }

  /** Whether the user is online on any node (this node alone without a cluster). */
  async isOnlineAnywhere(userId: string): Promise<boolean> {
    return this.cluster ? this.cluster.isOnline(userId) : this.isOnline(userId);
  }

  /** Users online on this node. */
  get onlineCount(): number {
    return this.core.online.size;
  }

  /** Users online in the whole cluster (this node alone without a cluster). */
  async onlineCountAnywhere(): Promise<number> {
    return this.cluster ? this.cluster.onlineCount() : this.onlineCount;
  }

  /** User ids online on this node. */
  onlineUsers(): string[] {
    return [...this.core.online.userIds()];
  }

  /**
   * Session and delivery events (online, offline, delivered, lost) as plain
   * data: safe to log or serialise. A subscriber that throws is logged, never
   * fatal, and keeps its subscription.
   */
  get events$(): Observable<IMEvent> {
    return this.events;
  }

  /** Operational counters. */
  get stats(): Readonly<IMStats> {
    return this.core.stats;
  }

  private packet(userId: string, data: string | object, options: PushOptions, fp: string | undefined): Packet {
    const qos = options.qos ?? true;
    return {
      bridge: false,
      type: PacketType.DATA,
      dataContent: typeof data === 'string' ? data : JSON.stringify(data),
      from: options.from ?? SERVER_USER_ID,
      to: userId,
      fp: qos ? fp ?? randomUUID() : undefined,
      QoS: qos,
      typeu: options.typeu ?? -1,
      sm: -1,
    };
  }
}
