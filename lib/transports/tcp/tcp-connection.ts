import { Socket } from 'net';
import { IMConnection } from '../../core/connection';
import type { IMCloseReason } from '../../metrics/close-reason';
import { TCP_HEADER_BYTES } from '../../protocol/tcp-frame-decoder';

/**
 * One TCP connection. Packets written in the same tick are framed into one
 * buffer and handed to the socket once, on the next tick: a burst of frames
 * from one read becomes one write instead of one per packet.
 */
export class TcpConnection implements IMConnection {
  readonly transport = 'tcp' as const;
  readonly connectionless = false;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private pending: string[] | null = null;

  constructor(
    private readonly socket: Socket,
    readonly idleTimeoutMs: number,
    readonly maxOutboundBytes: number,
    /** How long a closing socket may take to flush before it is destroyed. */
    private readonly closeTimeoutMs: number,
    /** Bytes the peer may leave unread before writes fail and the core closes it (slow consumer). */
    private readonly maxBufferedBytes: number,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
  }

  get congested(): boolean {
    return this.socket.writableLength > this.maxBufferedBytes;
  }

  write(body: string): boolean {
    const socket = this.socket;
    if (!socket.writable || socket.writableLength > this.maxBufferedBytes) return false;
    if (this.pending) {
      this.pending.push(body);
    } else {
      this.pending = [body];
      process.nextTick(flush, this);
    }
    return true;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.socket.destroyed) this.socket.resume();
  }

  close(reason?: IMCloseReason): void {
    if (this.socket.destroyed) return;
    // A peer that does not read would not read what is flushed either.
    if (reason === 'slow-consumer') {
      this.pending = null;
      this.socket.destroy();
      return;
    }
    this.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), this.closeTimeoutMs).unref();
  }

  /** @internal Frames and writes everything written since the last flush. */
  flush(): void {
    const bodies = this.pending;
    if (!bodies) return;
    this.pending = null;
    if (!this.socket.writable) return;
    const lengths = new Array<number>(bodies.length);
    let total = 0;
    for (let i = 0; i < bodies.length; i++) {
      lengths[i] = Buffer.byteLength(bodies[i]);
      total += TCP_HEADER_BYTES + lengths[i];
    }
    const out = Buffer.allocUnsafe(total);
    let offset = 0;
    for (let i = 0; i < bodies.length; i++) {
      out.writeUInt32BE(lengths[i], offset);
      offset += TCP_HEADER_BYTES;
      offset += out.write(bodies[i], offset);
    }
    this.socket.write(out);
  }
}

function flush(conn: TcpConnection): void {
  conn.flush();
}
