/**
 * The bench's own sockets, not `nestjs-im/client`'s links, on purpose: the
 * load generator binds explicit source ports (thousands of connections per
 * address), closes with a RST (no TIME_WAIT), corks writes per tick, hands
 * bodies over as buffer ranges without decoding them, and masks WebSocket
 * frames with a zero key — all to keep the generator's cost per message far
 * below the server's. TCP framing comes from `lib/protocol`'s `TcpFrameDecoder`.
 */
import * as dgram from 'dgram';
import * as net from 'net';
import { WebSocket } from 'ws';
import { TcpFrameDecoder } from '../../lib/protocol/tcp-frame-decoder';
import type { TransportKind } from '../../lib/protocol/transport-kind';

/** Transport of a bench client (the protocol's one union). */
export type Transport = TransportKind;

/** Where the server under test listens. */
export interface Endpoint {
  host: string;
  port: number;
  /** WebSocket request path. */
  wsPath?: string;
}

/** Called with each received packet body `buf[start, end)`. */
export type BodyHandler = (buf: Buffer, start: number, end: number) => void;

/**
 * One client connection on any transport. `write` takes a packet already
 * encoded for the transport (framed for TCP); writes of one tick are corked
 * into one syscall (TCP, WebSocket).
 */
export interface Link {
  readonly transport: Transport;
  /** Packets written to this link need the TCP length header. */
  readonly framed: boolean;
  onBody: BodyHandler;
  onClose: () => void;
  /** Bytes written but not yet handed to the kernel: a sender that must not outrun the server checks it. */
  readonly bufferedBytes: number;
  write(packet: Buffer): void;
  close(): void;
}

const noop = (): void => undefined;

function uncork(socket: net.Socket & { benchCorked?: boolean }): void {
  socket.benchCorked = false;
  socket.uncork();
}

/** Corks a socket for the rest of the tick on its first write. */
function corkForTick(socket: net.Socket & { benchCorked?: boolean }): void {
  if (socket.benchCorked) return;
  socket.benchCorked = true;
  socket.cork();
  process.nextTick(uncork, socket);
}

class TcpLink implements Link {
  readonly transport = 'tcp' as const;
  readonly framed = true;
  onBody: BodyHandler = noop;
  onClose: () => void = noop;

  constructor(private readonly socket: net.Socket) {
    // Any server's frames, so no protocol size limit: only a corrupt header (a huge length) drops the link.
    const decoder = new TcpFrameDecoder(1 << 24);
    const onRange = (b: Buffer, s: number, e: number) => this.onBody(b, s, e);
    socket.on('data', (chunk: Buffer) => {
      if (decoder.pushRanges(chunk, onRange)) socket.destroy();
    });
    socket.on('close', () => this.onClose());
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  write(packet: Buffer): void {
    if (this.socket.destroyed) return;
    corkForTick(this.socket);
    this.socket.write(packet);
  }

  /** Closes with a RST: no TIME_WAIT left behind on the generator's side (see `openLink`). */
  close(): void {
    this.socket.resetAndDestroy();
  }
}

class WsLink implements Link {
  readonly transport = 'ws' as const;
  readonly framed = false;
  onBody: BodyHandler = noop;
  onClose: () => void = noop;
  private readonly socket: net.Socket;

  constructor(private readonly ws: WebSocket) {
    this.socket = (ws as unknown as { _socket: net.Socket })._socket;
    ws.on('message', (data: Buffer) => this.onBody(data, 0, data.length));
    ws.on('close', () => this.onClose());
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  write(packet: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    corkForTick(this.socket);
    this.ws.send(packet, { binary: false });
  }

  /** Closes with a RST, like `TcpLink`. */
  close(): void {
    if (this.socket.destroyed) this.ws.terminate();
    else this.socket.resetAndDestroy();
  }
}

class UdpLink implements Link {
  readonly transport = 'udp' as const;
  readonly framed = false;
  onBody: BodyHandler = noop;
  onClose: () => void = noop;
  private closed = false;

  constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg: Buffer) => this.onBody(msg, 0, msg.length));
    socket.on('close', () => this.onClose());
  }

  readonly bufferedBytes = 0;

  write(packet: Buffer): void {
    if (!this.closed) this.socket.send(packet);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** The ws client masks with a zero key, which `ws` then skips: the server cannot tell. */
const zeroMask = (mask: Buffer) => mask.fill(0);

/** Where a link connects from. */
export interface Source {
  address: string;
  /**
   * Local port. Binding a source address with port 0 makes the kernel search
   * for a free port at bind() time, which costs milliseconds per connect once
   * a few thousand are bound (seen as seconds of event-loop stall); the pool
   * therefore hands out explicit ports below the ephemeral range.
   */
  port?: number;
}

/**
 * Opens a link; rejects on error (`code` EADDRINUSE when the local port is
 * taken) or after `timeoutMs`. Links close with a RST, leaving no TIME_WAIT.
 */
export function openLink(transport: Transport, to: Endpoint, from: Source, timeoutMs: number): Promise<Link> {
  const localAddress = from.address;
  const localPort = from.port ?? 0;
  return new Promise<Link>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('connect timeout')), timeoutMs);
    let cleanup: () => void = noop;
    const fail = (err: Error) => {
      clearTimeout(timer);
      cleanup();
      reject(err);
    };
    const done = (link: Link) => {
      clearTimeout(timer);
      resolve(link);
    };
    if (transport === 'tcp') {
      const socket = net.connect({ host: to.host, port: to.port, localAddress, localPort });
      cleanup = () => socket.destroy();
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.on('error', noop);
        socket.setNoDelay(true);
        done(new TcpLink(socket));
      });
    } else if (transport === 'ws') {
      const ws = new WebSocket(`ws://${to.host}:${to.port}${to.wsPath ?? '/websocket'}`, {
        localAddress,
        localPort,
        perMessageDeflate: false,
        skipUTF8Validation: true,
        generateMask: zeroMask,
        handshakeTimeout: timeoutMs,
      });
      cleanup = () => ws.terminate();
      ws.once('error', fail);
      ws.once('open', () => {
        ws.off('error', fail);
        ws.on('error', noop);
        (ws as unknown as { _socket: net.Socket })._socket.setNoDelay(true);
        done(new WsLink(ws));
      });
    } else {
      const socket = dgram.createSocket('udp4');
      cleanup = () => socket.close();
      socket.once('error', fail);
      socket.bind({ address: localAddress, port: localPort }, () => {
        socket.connect(to.port, to.host, () => {
          socket.off('error', fail);
          socket.on('error', noop);
          done(new UdpLink(socket));
        });
      });
    }
  });
}
