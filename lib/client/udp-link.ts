import type * as dgram from 'dgram';
import { IMLink, LinkCloseInfo } from './link';
import { loadNodeModule } from './node-module';

/** Options of {@link UdpLink}. */
export interface UdpLinkOptions {
  /** Server host name or address. */
  host: string;
  /** Server UDP port (the reference uses 7901). */
  port: number;
  /** Local address to bind; default all interfaces. */
  localAddress?: string;
  /** Local port to bind; default 0, an ephemeral port (each open is a new server session). */
  localPort?: number;
  /** IP family; default 6 when `host` or `localAddress` is an IPv6 literal, else 4. */
  family?: 4 | 6;
}

/**
 * A Node.js UDP link: one JSON packet per datagram (PROTOCOL.md §1.3). The
 * socket is `connect`ed so only the server's datagrams are accepted. UDP has
 * no close from the server: link loss is found by the keepalive only.
 * `dgram` is loaded when the link opens, so importing this file is browser-safe.
 */
export class UdpLink implements IMLink {
  readonly kind = 'udp' as const;
  onPacket?: (text: string) => void;
  onClose?: (info: LinkCloseInfo) => void;
  /** The last send or socket error; UDP errors (e.g. ICMP port unreachable) do not end the link. */
  lastError?: Error;
  private socket: dgram.Socket | null = null;
  private closing = false;
  private pendingSends = 0;
  private closedSocket: dgram.Socket | null = null;

  constructor(private readonly options: UdpLinkOptions) {}

  get isOpen(): boolean {
    return this.socket !== null && !this.closing;
  }

  /** The local port bound, once open. */
  get localPort(): number | undefined {
    return this.socket?.address().port;
  }

  open(): Promise<void> {
    if (this.socket) return Promise.reject(new Error('UdpLink is already open'));
    const { host, port, localAddress, localPort } = this.options;
    const v6 = this.options.family === 6 || (this.options.family === undefined && (host.includes(':') || !!localAddress?.includes(':')));
    const { createSocket } = loadNodeModule<typeof dgram>('dgram');
    return new Promise<void>((resolve, reject) => {
      const socket = createSocket(v6 ? 'udp6' : 'udp4');
      const fail = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', fail);
      socket.bind({ port: localPort ?? 0, address: localAddress }, () => {
        socket.connect(port, host, () => {
          socket.off('error', fail);
          this.attach(socket);
          resolve();
        });
      });
    });
  }

  send(body: string): void {
    const socket = this.socket;
    if (!socket || this.closing) throw new Error('UdpLink is not open');
    this.pendingSends++;
    socket.send(body, (err) => {
      if (err) this.lastError = err;
      if (--this.pendingSends === 0 && this.closing) this.closeOnce(socket);
    });
  }

  /** Sends the bytes as one datagram. */
  sendRaw(bytes: Uint8Array): void {
    const socket = this.socket;
    if (!socket || this.closing) throw new Error('UdpLink is not open');
    socket.send(bytes, (err) => {
      if (err) this.lastError = err;
    });
  }

  /** Closes the socket at once, without waiting for queued datagrams. */
  abort(): void {
    if (!this.socket) return;
    this.closing = true;
    this.closeOnce(this.socket);
  }

  /** `dgram` throws on a second close(); a close may follow an abort or the reverse. */
  private closeOnce(socket: dgram.Socket): void {
    if (this.closedSocket === socket) return;
    this.closedSocket = socket;
    socket.close();
  }

  close(): void {
    if (!this.socket || this.closing) return;
    this.closing = true;
    // Let queued datagrams (a logout) leave before the socket goes.
    if (this.pendingSends === 0) this.closeOnce(this.socket);
  }

  private attach(socket: dgram.Socket): void {
    this.socket = socket;
    this.closing = false;
    this.pendingSends = 0;
    socket.on('message', (msg: Buffer) => {
      if (!this.closing) this.onPacket?.(msg.toString('utf8'));
    });
    socket.on('error', (err) => (this.lastError = err));
    socket.once('close', () => {
      const info: LinkCloseInfo = { local: this.closing };
      this.socket = null;
      this.closing = false;
      this.onClose?.(info);
    });
  }
}
