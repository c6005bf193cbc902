import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import { BridgeHostPort, BridgePort } from '../core/bridge-port';
import { Packet } from '../protocol/packet';
import { DedupLimits, ReceiveDedupTable } from '../qos/receive-dedup-table';
import { decodeBridgeMessage, encodeBridgeMessage } from './bridge-codec';
import { ResolvedBridgeOptions } from './bridge-options';
import { LogThrottle } from '../core/log-throttle';

/** What the bridge needs of the server's own options. */
export interface IMBridgeContext {
  /** Accept the reference's lenient JSON on inbound messages too. */
  readonly lenientJson: boolean;
  /** Window and bounds of the dedup of retransmitted bridged C2C packets (the `qos.dedup*` options). */
  readonly dedup: DedupLimits;
}

/** One live broker connection with its two channels. */
interface Link {
  readonly connection: ChannelModel;
  readonly publisher: ConfirmChannel;
  readonly consumer: Channel;
}

/** Gap between two log lines about bad messages or failed publishes; the ones in between are counted and reported with the next. */
const LOG_INTERVAL_MS = 10_000;

type Amqplib = typeof import('amqplib');

/** Loaded on start so that applications without a bridge need not install amqplib; without it, start fails at once. */
function loadAmqplib(): Amqplib {
  try {
    return require('amqplib') as Amqplib;
  } catch (err) {
    throw new Error(`the bridge option needs the amqplib package (npm install amqplib@0.10): ${(err as Error).message}`);
  }
}

/** The reference's heartbeat (`setRequestedHeartbeat(30)`): a broker that goes silent is noticed within a minute. */
const HEARTBEAT_S = 30;

/** `url` with the reference's heartbeat unless the URL asks for its own. */
export function withHeartbeat(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url; // amqplib reports the malformed URL itself
  }
  if (u.searchParams.has('heartbeat')) return url;
  u.searchParams.set('heartbeat', String(HEARTBEAT_S));
  return u.toString();
}

/**
 * The MobileIMSDK-Web bridge (PROTOCOL.md §2.7) over RabbitMQ, wire-compatible
 * with the reference's `MQProvider`/`BridgeProcessor`: two durable queues on
 * the default exchange, one packet per message as UTF-8 JSON in the
 * reference's key order, published persistent, consumed with manual ACKs.
 *
 * Unlike the reference, a publish counts only once the broker confirmed it
 * (confirm channel, mandatory routing), so the sender's ACK never promises a
 * message the broker lost; whatever is not confirmed takes the offline path.
 * The connection is re-established every `reconnectDelayMs` while it is down.
 */
export class IMBridge implements BridgePort {
  private readonly logger = new Logger('IMBridge');
  private link?: Link;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private stopped = true;
  /** Last state reported in the log, so each change is logged once. */
  private reportedUp?: boolean;
  private nextMessageId = 1;
  /** Message ids the broker returned as unroutable; their confirm then counts as a failure. */
  private readonly returned = new Set<string>();
  /** (sender, fp) of bridged QoS C2C packets, so a retransmission is only ACKed again. */
  private readonly sent: ReceiveDedupTable;
  private amqp?: Amqplib;
  private redeclaring = false;
  private readonly poisonLog = new LogThrottle(LOG_INTERVAL_MS);
  private readonly publishLog = new LogThrottle(LOG_INTERVAL_MS);

  constructor(
    private readonly core: BridgeHostPort,
    readonly options: ResolvedBridgeOptions,
    private readonly context: IMBridgeContext,
  ) {
    this.sent = new ReceiveDedupTable(context.dedup);
  }

  /** The broker connection and both channels are up. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  /**
   * Installs the bridge in the core and makes a first connection attempt.
   * Resolves either way: while the broker is unreachable, bridged sends take
   * the offline path and the bridge keeps reconnecting.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.amqp ??= loadAmqplib();
    this.stopped = false;
    this.core.setBridge(this);
    await this.connect();
  }

  /** Stops consuming and publishing; unacknowledged inbound messages go back to the queue. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.core.setBridge(undefined);
    clearTimeout(this.retryTimer);
    // An attempt under way closes its own link once it sees `stopped`; a silent broker is not waited for.
    await Promise.race([this.connecting, delay(this.options.confirmTimeoutMs)]);
    const link = this.link;
    this.link = undefined;
    if (link) await this.close(link.connection);
  }

  // ------------------------------------------------------------- BridgePort

  async forwardC2C(packet: Packet, senderUserId: string): Promise<boolean> {
    // The core checked `from` already; the bridge re-checks what it vouches for to the far side.
    if (packet.from !== senderUserId) {
      this.core.stats.forgedSender++;
      this.logger.warn(`not bridged: from=${packet.from} was sent by ${senderUserId}'s session`);
      return false;
    }
    const fp = packet.QoS ? packet.fp : undefined;
    if (fp !== undefined && this.sent.checkAndRecord(senderUserId, fp, this.core.clock.now())) {
      // As the reference: a retransmission of a bridged packet is only ACKed again.
      this.core.stats.bridgeDuplicates++;
      return true;
    }
    const ok = await this.publish(packet);
    if (!ok && fp !== undefined) this.sent.forget(senderUserId, fp);
    return ok;
  }

  push(packet: Packet): Promise<boolean> {
    return this.publish(packet);
  }

  // ------------------------------------------------------------- outbound

  /** Publishes one packet; true once the broker confirmed it into the queue. */
  private publish(packet: Packet): Promise<boolean> {
    const link = this.link;
    // Down: the outage itself is what gets logged (once).
    if (!link) return Promise.resolve(this.publishFailed());
    const messageId = String(this.nextMessageId++);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const settle = (failure?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.returned.delete(messageId);
        resolve(failure === undefined ? this.published(packet) : this.publishFailed(failure));
      };
      const timer = setTimeout(() => settle(`no confirm within ${this.options.confirmTimeoutMs} ms`), this.options.confirmTimeoutMs);
      try {
        // As the reference's MessageProperties.PERSISTENT_TEXT_PLAIN, plus mandatory: an unroutable message is returned, not silently dropped.
        link.publisher.publish('', this.options.publishQueue, encodeBridgeMessage(packet),
          { persistent: true, contentType: 'text/plain', mandatory: true, messageId },
          (err) => settle(err ? `not confirmed (${(err as Error).message ?? err})`
            : this.returned.has(messageId) ? `unroutable: queue ${this.options.publishQueue} is missing` : undefined));
      } catch (err) {
        settle(`publish failed (${(err as Error)?.message ?? err})`);
      }
    });
  }

  private published(packet: Packet): boolean {
    this.core.stats.bridgedOut++;
    if (this.core.events.observed) {
      this.core.events.next({ type: 'bridged', direction: 'out', userId: packet.to as string, fp: packet.fp, packet });
    }
    return true;
  }

  private publishFailed(reason?: string): boolean {
    this.core.stats.bridgePublishFailed++;
    const line = reason && this.publishLog.next(`publish to ${this.options.publishQueue} failed, offline path taken: ${reason}`, Date.now());
    if (line) this.logger.warn(line);
    return false;
  }

  // ------------------------------------------------------------- inbound

  private async receive(consumer: Channel, msg: ConsumeMessage | null): Promise<void> {
    if (!msg) {
      // The broker cancelled the consumer (its queue was deleted): start over.
      this.lost(new Error(`consumer of ${this.options.consumeQueue} cancelled by the broker`));
      return;
    }
    const decoded = decodeBridgeMessage(msg.content, this.options.maxMessageBytes, this.context.lenientJson);
    if (!decoded.ok) {
      // Acknowledged, never requeued: a message that cannot be read now never will be.
      this.ack(consumer, msg);
      this.poison(`${decoded.error.id} ${decoded.detail}`, msg);
      return;
    }
    const p = decoded.packet;
    try {
      await this.core.deliverBridged(p);
    } catch (err) {
      this.core.stats.handlerErrors++;
      this.logger.error(`bridged packet ${p.fp} to ${p.to}: ${(err as Error)?.message ?? err}`, (err as Error)?.stack);
    }
    this.ack(consumer, msg);
    this.core.stats.bridgedIn++;
    if (this.core.events.observed) this.core.events.next({ type: 'bridged', direction: 'in', userId: p.to as string, fp: p.fp, packet: p });
  }

  private ack(consumer: Channel, msg: Message): void {
    try {
      consumer.ack(msg);
    } catch {
      // The channel is gone; the broker redelivers the message to the next consumer.
    }
  }

  private poison(reason: string, msg: Message): void {
    this.core.stats.bridgePoison++;
    const line = this.poisonLog.next(`dropped an invalid message of ${this.options.consumeQueue} (${reason}, ${msg.content.length} bytes)`, Date.now());
    if (line) this.logger.warn(line);
  }

  // ------------------------------------------------------------- connection

  private connect(): Promise<void> {
    this.connecting ??= this.open().then(
      (link) => {
        this.connecting = undefined;
        if (this.stopped) return void this.close(link.connection);
        this.link = link;
        this.report(true);
      },
      (err) => {
        this.connecting = undefined;
        this.lost(err);
      },
    );
    return this.connecting;
  }

  private async open(): Promise<Link> {
    const { url, publishQueue, consumeQueue, prefetch, confirmTimeoutMs } = this.options;
    const connection = await (this.amqp as Amqplib).connect(withHeartbeat(url), { timeout: confirmTimeoutMs });
    try {
      connection.on('error', () => undefined); // 'close' follows and is handled there
      const publisher = await connection.createConfirmChannel();
      const consumer = await connection.createChannel();
      // Both durable, not exclusive, not auto-deleted, as the reference's publisher declares them, so either side may start first.
      await publisher.assertQueue(publishQueue, { durable: true, exclusive: false, autoDelete: false });
      await consumer.assertQueue(consumeQueue, { durable: true, exclusive: false, autoDelete: false });
      await consumer.prefetch(prefetch);
      const link: Link = { connection, publisher, consumer };
      publisher.on('return', (msg: Message) => {
        this.returned.add(String(msg.properties.messageId));
        this.redeclare(link);
      });
      for (const emitter of [connection, publisher, consumer]) {
        emitter.on('close', () => this.linkClosed(link));
        emitter.on('error', () => undefined);
      }
      await consumer.consume(consumeQueue, (msg) => void this.receive(consumer, msg), { noAck: false });
      return link;
    } catch (err) {
      await this.close(connection);
      throw err;
    }
  }

  /** The publish queue was deleted under us (messages come back unroutable): declare it again, once at a time. */
  private redeclare(link: Link): void {
    if (this.redeclaring) return;
    this.redeclaring = true;
    link.publisher.assertQueue(this.options.publishQueue, { durable: true, exclusive: false, autoDelete: false }).then(
      () => (this.redeclaring = false),
      () => (this.redeclaring = false), // the channel closes with the error; the reconnection declares it
    );
  }

  private linkClosed(link: Link): void {
    if (this.link !== link) return;
    this.link = undefined;
    void this.close(link.connection);
    this.lost(new Error('connection to the broker closed'));
  }

  /** The link is down or could not be made: report the change once, retry later. */
  private lost(err: unknown): void {
    if (this.link) {
      const link = this.link;
      this.link = undefined;
      void this.close(link.connection);
    }
    this.report(false, err);
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.options.reconnectDelayMs);
    this.retryTimer.unref();
  }

  /** Closes a broker connection; one whose broker does not answer within `confirmTimeoutMs` is cut. */
  private close(connection: ChannelModel): Promise<void> {
    const closed = connection.close().catch(() => undefined);
    return Promise.race([closed, delay(this.options.confirmTimeoutMs)]).then(() => {
      // amqplib has no public way to drop a connection that does not answer its close.
      (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    });
  }

  private report(up: boolean, err?: unknown): void {
    if (this.reportedUp === up) return;
    this.reportedUp = up;
    const queues = `publish ${this.options.publishQueue}, consume ${this.options.consumeQueue}`;
    if (up) {
      this.logger.log(`bridge up as the ${this.options.side} side (${queues})`);
      return;
    }
    this.core.stats.bridgeOutages++;
    this.logger.error(
      `bridge down (${(err as Error)?.message ?? err}): bridged sends take the offline path; retrying every ${this.options.reconnectDelayMs} ms`,
    );
  }
}

/** Resolves after `ms`, without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
