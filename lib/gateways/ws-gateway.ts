import { Logger } from '@nestjs/common';
import * as http from 'http';
import * as https from 'https';
import { Duplex } from 'stream';
import { RawData, WebSocket, WebSocketServer } from 'ws';
import { IMCore } from '../core/im-core';
import { IMErrors } from '../errors/im-error-codes';
import { ResolvedIMOptions } from '../im-options.interface';
import { WsConnection } from './ws-connection';
import { whenAllClosed } from '../transports/im-listener';

type WsOptions = Exclude<ResolvedIMOptions['ws'], false>;

/**
 * WebSocket gateway (PROTOCOL.md §1.2): raw MobileIMSDK JSON in text frames at
 * `/websocket`, on its own port or on the Nest HTTP server.
 *
 * It drives `ws` (the engine under `@nestjs/platform-ws`) directly rather than
 * through a static `@WebSocketGateway`: the port and path come from
 * `forRootAsync` at runtime, the bound port must be readable for port 0, and
 * unknown paths must get a 404 instead of a hung socket (QUIRK-15).
 */
export class WsGateway {
  readonly kind = 'ws' as const;
  private readonly logger = new Logger('IMWsGateway');
  private wss?: WebSocketServer;
  private server?: http.Server;
  private ownsServer = false;
  /** False once shutting down: upgrades get 503. */
  private accepting = true;
  /** Called when a WebSocket closes while `close()` waits for them. */
  private onClientClosed?: () => void;
  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

  constructor(
    private readonly core: IMCore,
    private readonly options: WsOptions,
    /** The Nest HTTP server, used when `port` is `'http'`. */
    private readonly httpServer?: http.Server,
  ) {}

  /** Port the gateway accepts on, once started. */
  get port(): number | undefined {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.wss?.clients.size ?? 0;
  }

  /** Resolves when the server the gateway accepts on is listening. */
  bound(): Promise<void> {
    const server = this.server;
    if (!server || server.listening) return Promise.resolve();
    return new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  }

  async start(): Promise<void> {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: true,
    });
    this.wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => this.accept(ws, req));
    // A failed handshake is answered here rather than by `ws`, to log it and to
    // answer an unsupported version with 426 as the reference does.
    this.wss.on('wsClientError', (err: Error, socket: Duplex, req: http.IncomingMessage) => {
      this.logger.debug(`handshake from ${req.socket.remoteAddress} refused: ${err.message}`);
      if (/Sec-WebSocket-Version/.test(err.message)) rejectUpgrade(socket, 426, 'Upgrade Required', 'Sec-WebSocket-Version: 13\r\n');
      else rejectUpgrade(socket, 400, 'Bad Request');
    });
    if (this.options.port === 'http') {
      if (!this.httpServer) throw new Error("ws.port 'http' needs a Nest application with an HTTP server");
      this.server = this.httpServer;
      this.server.on('upgrade', this.onUpgrade);
      this.logger.log(`accepting on the application's HTTP server at ${this.options.path}`);
      return;
    }
    const server = this.options.tls ? https.createServer(this.options.tls) : http.createServer();
    const handshakeMs = this.options.handshakeTimeoutMs;
    server.headersTimeout = handshakeMs;
    server.requestTimeout = handshakeMs;
    // Node checks those two only every 30 s (connectionsCheckingInterval), and not during TLS:
    // an absolute deadline per connection, cleared by a completed upgrade, holds to the option.
    server.on('connection', (socket: Duplex) => this.startHandshakeDeadline(socket));
    // A plain HTTP request to the gateway is answered as the reference does.
    server.on('request', (_req, res) => {
      res.writeHead(400, { connection: 'close' }).end();
    });
    server.on('upgrade', this.onUpgrade);
    this.server = server;
    this.ownsServer = true;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port as number, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.logger.log(`listening on ${this.options.host ?? '*'}:${this.port}${this.options.path}`);
  }

  /** Graceful shutdown: no new upgrades (503); on its own port, stops listening. Open WebSockets stay until `close()`. */
  stopAccepting(): void {
    this.accepting = false;
    if (this.ownsServer && this.server?.listening) this.server.close();
  }

  /**
   * Closes the gateway. WebSockets the core closed first (close frame sent) may
   * finish the closing handshake for up to `closeTimeoutMs`; the rest are terminated.
   */
  async close(): Promise<void> {
    const { wss, server } = this;
    this.wss = undefined;
    this.server = undefined;
    this.accepting = false;
    if (wss) {
      await whenAllClosed(wss.clients, this.options.closeTimeoutMs, (check) => (this.onClientClosed = check));
      this.onClientClosed = undefined;
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    if (!server) return;
    server.off('upgrade', this.onUpgrade);
    if (this.ownsServer) {
      server.closeAllConnections?.();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = this.wss;
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== this.options.path) {
      // On a shared server another gateway may own the path; on our own port answer 404 (QUIRK-15 fix).
      if (!this.ownsServer) return;
      this.logger.debug(`upgrade for ${path} from ${req.socket.remoteAddress} refused: not ${this.options.path}`);
      return rejectUpgrade(socket, 404, 'Not Found');
    }
    if (!wss || !this.accepting) return rejectUpgrade(socket, 503, 'Service Unavailable');
    if (wss.clients.size >= this.options.maxConnections) {
      this.core.metrics.refused('ws', IMErrors.TOO_MANY_CONNECTIONS.id);
      this.logger.warn(`${IMErrors.TOO_MANY_CONNECTIONS.id}: ${this.options.maxConnections} WebSocket connections`);
      return rejectUpgrade(socket, 503, 'Service Unavailable');
    }
    if (this.core.admit('ws', req.socket.remoteAddress ?? '', true)) return rejectUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }

  /** Destroys `socket` unless its upgrade completes within `handshakeTimeoutMs`. */
  private startHandshakeDeadline(socket: Duplex): void {
    const timer = setTimeout(() => socket.destroy(), this.options.handshakeTimeoutMs);
    timer.unref();
    handshakeTimers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    clearHandshakeDeadline(req.socket);
    const connection = new WsConnection(
      ws,
      req.socket,
      req.socket.remoteAddress ?? '',
      req.socket.remotePort ?? 0,
      this.options.idleTimeoutMs,
      this.options.maxOutboundBytes,
      this.options.closeTimeoutMs,
      this.options.maxBufferedBytes,
    );
    const session = this.core.openSession(connection);
    const core = this.core;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return core.rejectFrame(session, IMErrors.BINARY_FRAME);
      core.receive(session, data.toString());
    });
    // `ws` closes with 1009 itself when a message exceeds maxPayload: count it as TCP counts an oversize frame.
    ws.on('error', (err: Error & { code?: string }) =>
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? core.rejectFrame(session, IMErrors.FRAME_TOO_LARGE) : this.logger.debug(`${session}: ${err.message}`),
    );
    ws.on('close', () => {
      core.connectionClosed(session);
      this.onClientClosed?.();
    });
  }
}

/** Handshake deadlines by socket: a WeakMap rather than a property, so sockets keep Node's own shape. */
const handshakeTimers = new WeakMap<Duplex, NodeJS.Timeout>();

/** Clears the deadline of the upgraded socket and, under TLS, of the TCP socket beneath it. */
function clearHandshakeDeadline(socket: Duplex): void {
  for (let s: Duplex | undefined = socket; s; s = (s as { _parent?: Duplex })._parent) {
    const timer = handshakeTimers.get(s);
    if (timer) clearTimeout(timer);
  }
}

function rejectUpgrade(socket: Duplex, status: number, text: string, headers = ''): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}
