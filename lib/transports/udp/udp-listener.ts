import { Logger } from '@nestjs/common';
import * as dgram from 'dgram';
import { IMConnection } from '../../core/connection';
import { IMSessionHandle, IMSessionSink } from '../../core/session-sink';
import { IMErrors } from '../../errors/im-error-codes';
import { ResolvedIMOptions } from '../../im-options.interface';
import { IMListener } from '../im-listener';

type UdpOptions = Exclude<ResolvedIMOptions['udp'], false>;

/** One UDP peer address; "close" just forgets the peer (UDP has no close). */
class UdpPeer implements IMConnection {
  readonly transport = 'udp' as const;
  readonly connectionless = true;
  /** The OS socket buffer is shared by every peer: there is no per-peer backlog to bound. */
  readonly congested = false;
  session!: IMSessionHandle;

  constructor(
    private readonly owner: UdpListener,
    readonly key: string,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly idleTimeoutMs: number,
    readonly maxOutboundBytes: number,
  ) {}

  write(body: string): boolean {
    // Never more than the clients read (and never an oversized reply to a spoofed source).
    if (body.length > this.maxOutboundBytes && Buffer.byteLength(body) > this.maxOutboundBytes) {
      this.owner.oversizeReplies++;
      return false;
    }
    return this.owner.sendTo(this, body);
  }

  close(): void {
    this.owner.forget(this);
  }

  /** One socket serves every peer: UDP cannot stop reading one, so the core drops instead. */
  pause(): void {}

  resume(): void {}
}

/**
 * UDP transport (PROTOCOL.md §1.3): one packet per datagram, a session per
 * peer address that expires after the idle timeout. Oversized or malformed
 * datagrams are dropped and counted; the session stays (QUIRK-9 fix).
 */
export class UdpListener implements IMListener {
  readonly kind = 'udp' as const;
  private readonly logger = new Logger('IMUdpListener');
  private socket?: dgram.Socket;
  private starting?: Promise<void>;
  private readonly peers = new Map<string, UdpPeer>();
  /** Datagrams dropped because the session limit was reached. */
  refused = 0;
  /** Datagrams dropped for size. */
  oversize = 0;
  /** Packets not sent because they exceed `maxOutboundBytes`. */
  oversizeReplies = 0;
  /** False once shutting down: datagrams from new peers are dropped. */
  private accepting = true;

  constructor(
    private readonly core: IMSessionSink,
    private readonly options: UdpOptions,
  ) {}

  get port(): number | undefined {
    try {
      return this.socket?.address().port;
    } catch {
      return undefined;
    }
  }

  /** Sessions (peer addresses) currently known. */
  get connectionCount(): number {
    return this.peers.size;
  }

  /** Idempotent while listening: the server and a microservice host may both start it. */
  start(): Promise<void> {
    this.starting ??= new Promise<void>((resolve, reject) => this.listen((err) => (err ? reject(err) : resolve())));
    this.starting.catch(() => (this.starting = undefined));
    return this.starting;
  }

  bound(): Promise<void> {
    return Promise.resolve();
  }

  private listen(callback: (err?: unknown) => void): void {
    const socket = dgram.createSocket({
      type: this.options.ipv6 ? 'udp6' : 'udp4',
      recvBufferSize: this.options.recvBufferBytes,
    });
    this.socket = socket;
    const onError = (err: Error) => callback(err);
    socket.once('error', onError);
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    socket.bind(this.options.port, this.options.host, () => {
      socket.off('error', onError);
      socket.on('error', (err) => this.logger.error(`UDP socket error: ${err.message}`));
      this.logger.log(`listening on ${this.options.host ?? '*'}:${this.port}`);
      callback();
    });
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.starting = undefined;
    if (!socket) return;
    this.socket = undefined;
    for (const peer of [...this.peers.values()]) this.core.connectionClosed(peer.session);
    this.peers.clear();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** @internal */
  sendTo(peer: UdpPeer, body: string): boolean {
    if (!this.socket || !this.peers.has(peer.key)) return false;
    this.socket.send(body, peer.remotePort, peer.remoteAddress);
    return true;
  }

  /** @internal */
  forget(peer: UdpPeer): void {
    if (this.peers.get(peer.key) === peer) this.peers.delete(peer.key);
    this.core.connectionClosed(peer.session);
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = rinfo.address + '|' + rinfo.port;
    let peer = this.peers.get(key);
    if (!peer) {
      if (!this.accepting) return;
      if (this.peers.size >= this.options.maxSessions) {
        this.core.metrics.refused('udp', IMErrors.TOO_MANY_CONNECTIONS.id);
        if (this.refused++ % 1000 === 0) {
          this.logger.warn(`${IMErrors.TOO_MANY_CONNECTIONS.id}: ${this.options.maxSessions} UDP sessions`);
        }
        return;
      }
      // Admission caps sessions that have not logged in (per address, and in total by evicting the oldest).
      if (this.core.admit('udp', rinfo.address, false)) return;
      peer = new UdpPeer(this, key, rinfo.address, rinfo.port, this.options.idleTimeoutMs, this.options.maxOutboundBytes);
      peer.session = this.core.openSession(peer);
      this.peers.set(key, peer);
    }
    if (msg.length > this.options.maxDatagramBytes) {
      this.oversize++;
      this.core.rejectFrame(peer.session, IMErrors.FRAME_TOO_LARGE, `${msg.length} bytes`);
      return;
    }
    this.core.receive(peer.session, msg.toString('utf8'));
  }
}
