import type * as net from 'net';
import type * as tls from 'tls';
import { encodeTcpFrame, TcpFrameDecoder } from '../protocol/tcp-frame-decoder';
import { IMLink, LinkCloseInfo } from './link';
import { loadNodeModule } from './node-module';
import { unrefTimer } from './timers';

/** Options of {@link TcpLink}. */
export interface TcpLinkOptions {
  /** Server host name or address. */
  host: string;
  /** Server TCP port (the reference uses 8901). */
  port: number;
  /** Local address to connect from. */
  localAddress?: string;
  /** Give up connecting after this long. Default 5000 ms, as the Java/Android SDKs. */
  connectTimeoutMs?: number;
  /** Largest inbound frame body; a larger header drops the link as the SDKs do. Default 6144. */
  maxFrameBytes?: number;
  /** After `close()`, force the socket shut if the FIN handshake has not finished. Default 2000 ms. */
  closeLingerMs?: number;
  /** Connect with TLS (the same framing inside the TLS stream); e.g. `{ ca }` for a private CA. */
  tls?: tls.ConnectionOptions;
}

/**
 * A Node.js TCP link: 4-byte big-endian length framing (PROTOCOL.md §1.1).
 * `net` is loaded when the link opens, so importing this file is browser-safe.
 */
export class TcpLink implements IMLink {
  readonly kind = 'tcp' as const;
  onPacket?: (text: string) => void;
  onClose?: (info: LinkCloseInfo) => void;
  private socket: net.Socket | null = null;
  private closing = false;

  constructor(private readonly options: TcpLinkOptions) {}

  get isOpen(): boolean {
    return this.socket !== null && !this.closing;
  }

  open(): Promise<void> {
    if (this.socket) return Promise.reject(new Error('TcpLink is already open'));
    const { host, port, localAddress } = this.options;
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    const secure = this.options.tls;
    return new Promise<void>((resolve, reject) => {
      // SNI names hosts only: an IP address there is invalid (RFC 6066) and Node warns (DEP0123).
      const sni = loadNodeModule<typeof net>('net').isIP(host) ? {} : { servername: host };
      const socket = secure
        ? loadNodeModule<typeof tls>('tls').connect({ ...sni, ...secure, host, port })
        : loadNodeModule<typeof net>('net').connect({ host, port, localAddress });
      const timer = setTimeout(
        () => socket.destroy(new Error(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        this.attach(socket);
        resolve();
      });
    });
  }

  send(body: string): void {
    if (!this.socket || this.closing) throw new Error('TcpLink is not open');
    this.socket.write(encodeTcpFrame(body));
  }

  /** Writes bytes into the stream with no length header (for wire tests of bad framing). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.socket || this.closing) throw new Error('TcpLink is not open');
    this.socket.write(bytes);
  }

  /** Destroys the socket at once: queued writes are dropped. */
  abort(): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    this.closing = true;
    socket.destroy();
  }

  close(): void {
    const socket = this.socket;
    if (!socket || this.closing) return;
    this.closing = true;
    // end() flushes queued frames (a logout must reach the server) before the FIN;
    // the timer covers a peer that stops reading.
    const linger = unrefTimer(setTimeout(() => socket.destroy(), this.options.closeLingerMs ?? 2000));
    socket.once('close', () => clearTimeout(linger));
    socket.end(() => socket.destroy());
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    this.closing = false;
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const decoder = new TcpFrameDecoder(this.options.maxFrameBytes ?? 6144);
    let error: Error | undefined;
    socket.on('data', (chunk: Buffer) => {
      const bad = decoder.push(chunk, (body) => {
        // Once closing (a kick-out, say), later frames in the same chunk are moot.
        if (!this.closing && this.socket === socket) this.onPacket?.(body.toString('utf8'));
      });
      if (bad) {
        error = new Error(bad === 'too-large' ? 'server sent a frame over the size limit' : 'server sent an empty frame');
        socket.destroy();
      }
    });
    socket.on('error', (err) => (error ??= err));
    socket.once('close', () => {
      const info: LinkCloseInfo = { local: this.closing, error };
      this.socket = null;
      this.closing = false;
      this.onClose?.(info);
    });
  }
}
