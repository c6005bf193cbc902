import { Socket } from 'net';
import { WebSocket } from 'ws';
import { IMConnection } from '../../core/connection';
import { IMCloseReason, wsCloseCode } from '../../metrics/close-reason';

/**
 * One WebSocket connection: one packet per text frame. The frames written in
 * one tick leave in one syscall: the underlying socket is corked until the next tick.
 */
export class WsConnection implements IMConnection {
  readonly transport = 'ws' as const;
  readonly connectionless = false;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly idleTimeoutMs: number,
    readonly maxOutboundBytes: number,
    /** How long a closed WebSocket waits for the client's close frame before the socket is destroyed. */
    private readonly closeTimeoutMs: number,
    /** Bytes the peer may leave unread before writes fail and the core closes it (slow consumer). */
    private readonly maxBufferedBytes: number,
  ) {}

  get congested(): boolean {
    return this.ws.bufferedAmount > this.maxBufferedBytes;
  }

  write(body: string): boolean {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > this.maxBufferedBytes) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    ws.send(body);
    return true;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.resume();
  }

  /** @internal */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** A server-initiated close uses 1000 "Bye", as the reference does (PROTOCOL.md §1.2); a shutdown 1001 "going away". */
  close(reason: IMCloseReason): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) return;
    // A peer that does not read would not read a close frame either.
    if (reason === 'slow-consumer') return ws.terminate();
    const code = wsCloseCode(reason);
    ws.close(code, code === 1000 ? 'Bye' : reason);
    // `ws` itself waits 30 s for a client that ignores the close frame.
    const timer = setTimeout(() => ws.terminate(), this.closeTimeoutMs);
    timer.unref();
    ws.once('close', () => clearTimeout(timer));
  }
}

function uncork(conn: WsConnection): void {
  conn.uncork();
}
