import { Logger } from '@nestjs/common';
import * as net from 'net';
import * as tls from 'tls';
import { IMSessionSink } from '../../core/session-sink';
import { IMErrors } from '../../errors/im-error-codes';
import { ResolvedIMOptions } from '../../im-options.interface';
import { TcpFrameDecoder } from '../../protocol/tcp-frame-decoder';
import { TcpConnection } from './tcp-connection';
import { IMListener, whenAllClosed } from '../im-listener';

type TcpOptions = Exclude<ResolvedIMOptions['tcp'], false>;

/**
 * TCP transport (PROTOCOL.md §1.1): 4-byte big-endian length + JSON body,
 * optional TLS, TCP_NODELAY and SO_KEEPALIVE as in the reference.
 */
export class TcpListener implements IMListener {
  readonly kind = 'tcp' as const;
  private readonly logger = new Logger('IMTcpListener');
  private server?: net.Server;
  private starting?: Promise<void>;
  private readonly sockets = new Set<net.Socket>();
  private refusedSinceLog = 0;
  /** Called when a socket closes while `close()` waits for them. */
  private onSocketClosed?: () => void;

  constructor(
    private readonly core: IMSessionSink,
    private readonly options: TcpOptions,
  ) {}

  get port(): number | undefined {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  acceptingServer(): net.Server | undefined {
    return this.server;
  }

  get connectionCount(): number {
    return this.sockets.size;
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
    const onSocket = (socket: net.Socket) => this.accept(socket);
    const server = this.options.tls
      ? tls.createServer({ ...this.options.tls, handshakeTimeout: this.options.handshakeTimeoutMs }, onSocket)
      : net.createServer(onSocket);
    this.server = server;
    const onError = (err: Error) => callback(err);
    server.once('error', onError);
    server.listen({ port: this.options.port, host: this.options.host, backlog: this.options.backlog }, () => {
      server.off('error', onError);
      server.on('error', (err) => this.logger.error(`TCP server error: ${err.message}`));
      this.logger.log(`listening on ${this.options.host ?? '*'}:${this.port}${this.options.tls ? ' (TLS)' : ''}`);
      callback();
    });
  }

  stopAccepting(): void {
    if (this.server?.listening) this.server.close();
  }

  /**
   * Closes the listener. Sessions the core closed first (flush, then FIN) may
   * finish for up to `closeTimeoutMs`; whatever is still open then is destroyed.
   */
  async close(): Promise<void> {
    const server = this.server;
    this.starting = undefined;
    if (!server) return;
    this.server = undefined;
    this.stopAccepting();
    await whenAllClosed(this.sockets, this.options.closeTimeoutMs, (check) => (this.onSocketClosed = check));
    this.onSocketClosed = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.sockets.size >= this.options.maxConnections) {
      socket.destroy();
      this.core.metrics.refused('tcp', IMErrors.TOO_MANY_CONNECTIONS.id);
      if (this.refusedSinceLog++ % 1000 === 0) {
        this.logger.warn(`${IMErrors.TOO_MANY_CONNECTIONS.id}: ${this.options.maxConnections} connections`);
      }
      return;
    }
    if (this.core.admit('tcp', socket.remoteAddress ?? '', true)) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const connection = new TcpConnection(
      socket, this.options.idleTimeoutMs, this.options.maxOutboundBytes, this.options.closeTimeoutMs, this.options.maxBufferedBytes,
    );
    const session = this.core.openSession(connection);
    const decoder = new TcpFrameDecoder(this.options.maxFrameBytes);
    const core = this.core;
    const onFrame = (text: string) => core.receive(session, text);
    socket.on('data', (chunk: Buffer) => {
      if (session.closed) return;
      const error = decoder.pushText(chunk, onFrame);
      if (error === 'too-large') core.rejectFrame(session, IMErrors.FRAME_TOO_LARGE);
      else if (error === 'empty') core.rejectFrame(session, IMErrors.BAD_JSON, 'empty frame');
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      core.connectionClosed(session);
      this.onSocketClosed?.();
    });
  }
}
