import { Socket } from 'net';
import { IMConnection } from '../core/connection';
import { TCP_HEADER_BYTES } from '../protocol/tcp-frame-decoder';

/** Bytes a peer may leave unread before writes to it count as failed (slow consumer). */
const MAX_BUFFERED_BYTES = 1 << 20;
/** How long a closing socket may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 5000;

/**
 * One TCP connection. Writes made in the same tick are corked together and
 * flushed in one syscall on the next tick.
 */
export class TcpConnection implements IMConnection {
  readonly transport = 'tcp' as const;
  readonly connectionless = false;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private corked = false;

  constructor(
    private readonly socket: Socket,
    readonly idleTimeoutMs: number,
    readonly maxOutboundBytes: number,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
  }

  write(body: string): boolean {
    const socket = this.socket;
    if (!socket.writable || socket.writableLength > MAX_BUFFERED_BYTES) return false;
    const len = Buffer.byteLength(body);
    const frame = Buffer.allocUnsafe(TCP_HEADER_BYTES + len);
    frame.writeUInt32BE(len, 0);
    frame.write(body, TCP_HEADER_BYTES);
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(frame);
    return true;
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** @internal */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }
}

function uncork(conn: TcpConnection): void {
  conn.uncork();
}
