import { Logger } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import * as http from 'http';
import * as https from 'https';
import { Duplex } from 'stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { IMSessionSink } from '../../core/session-sink';
import { IMErrors } from '../../errors/im-error-codes';
import { ResolvedIMOptions } from '../../im-options.interface';
import { removeFromWsAdapter, wsAdapterDispatches, wsAdapterHttpServer, wsAdapterPaths } from '../../nest-internals';
import { IMListener, whenAllClosed } from '../im-listener';
import { WsConnection } from './ws-connection';
import { IMWsAdapter, rejectUpgrade, upgradePath } from './ws-upgrade-dispatch';

type WsOptions = Exclude<ResolvedIMOptions['ws'], false>;

/** `WsAdapter.create(0, …)`: a `ws` server on the adapter's HTTP server, dispatched by path. */
const ADAPTER_HTTP_PORT = 0;

/**
 * WebSocket listener (PROTOCOL.md §1.2): raw MobileIMSDK JSON in text frames
 * at `ws.path`, on a port of its own or on the Nest HTTP server.
 *
 * The `ws` server is created and reached through `@nestjs/platform-ws`'s
 * `WsAdapter`, which dispatches upgrades by path: on the Nest HTTP server it
 * joins the application's own `WsAdapter` when there is one (so the app's
 * `@WebSocketGateway`s keep their paths beside this one), otherwise an
 * {@link IMWsAdapter} of its own. It is not a static `@WebSocketGateway`: the
 * port and path come from `forRootAsync` at run time, and port 0 must be
 * readable. The per-message path stays on the raw `ws` socket.
 */
export class WsListener implements IMListener {
  readonly kind = 'ws' as const;
  private readonly logger = new Logger('IMWsListener');
  private wss?: WebSocketServer;
  private server?: http.Server;
  private adapter?: WsAdapter;
  private ownsAdapter = false;
  private ownsServer = false;
  private starting?: Promise<void>;
  /** False once shutting down: upgrades get 503. */
  private accepting = true;
  /** Called when a WebSocket closes while `close()` waits for them. */
  private onClientClosed?: () => void;

  constructor(
    private readonly core: IMSessionSink,
    private readonly options: WsOptions,
    /** The Nest HTTP server, used when `port` is `'http'`. */
    private readonly httpServer: () => http.Server | undefined,
    /** The application's WebSocket adapter (`app.useWebSocketAdapter`), if any. */
    private readonly appAdapter: () => unknown,
  ) {}

  /** Port the listener accepts on, once started. */
  get port(): number | undefined {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  /** The HTTP(S) server it accepts on (its own, or the Nest one with `port: 'http'`), once started. */
  acceptingServer(): http.Server | undefined {
    return this.server;
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.wss?.clients.size ?? 0;
  }

  /** Resolves when the server the listener accepts on is listening. */
  bound(): Promise<void> {
    const server = this.server;
    if (!server || server.listening) return Promise.resolve();
    return new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  }

  /** Idempotent while accepting. */
  start(): Promise<void> {
    this.starting ??= this.open();
    this.starting.catch(() => (this.starting = undefined));
    return this.starting;
  }

  private async open(): Promise<void> {
    if (this.options.port === 'http') {
      const httpServer = this.httpServer();
      if (!httpServer) throw new Error("ws.port 'http' needs a Nest application with an HTTP server");
      this.server = httpServer;
      const app = this.appAdapter();
      // The application's WsAdapter already dispatches its gateways' upgrades on this server: join it.
      if (app instanceof WsAdapter && wsAdapterHttpServer(app) === httpServer) this.adapter = app;
      this.createWsServer();
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
    // A plain HTTP request to the listener is answered as the reference does.
    server.on('request', (_req, res) => {
      res.writeHead(400, { connection: 'close' }).end();
    });
    this.server = server;
    this.ownsServer = true;
    this.createWsServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.options.port as number, host: this.options.host, backlog: this.options.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.logger.log(`listening on ${this.options.host ?? '*'}:${this.port}${this.options.path}`);
  }

  /** The `ws` server, created by the adapter on `this.server` and registered for `ws.path`. */
  private createWsServer(): void {
    const server = this.server!;
    if (!this.adapter) {
      this.adapter = new IMWsAdapter(server);
      this.ownsAdapter = true;
    }
    const wss: WebSocketServer = this.adapter.create(ADAPTER_HTTP_PORT, {
      path: this.options.path,
      maxPayload: this.options.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: true,
      // Limits are checked before the handshake completes: a refused peer gets 503, as before the adapter.
      verifyClient: (info: { req: http.IncomingMessage }, done: (ok: boolean, status?: number, text?: string) => void) =>
        this.refusal(info.req) ? done(false, 503, 'Service Unavailable') : done(true),
    });
    // The adapter logs every client error at ERROR (a peer's oversize message would flood the log):
    // this listener counts and logs them itself.
    wss.removeAllListeners('connection').removeAllListeners('error');
    wss.on('error', (err: Error) => this.logger.error(`WebSocket server error: ${err.message}`));
    wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => this.accept(ws, req));
    // A failed handshake is answered here rather than by `ws`, to log it and to
    // answer an unsupported version with 426 as the reference does.
    wss.on('wsClientError', (err: Error, socket: Duplex, req: http.IncomingMessage) => {
      this.logger.debug(`handshake from ${req.socket.remoteAddress} refused: ${err.message}`);
      if (/Sec-WebSocket-Version/.test(err.message)) rejectUpgrade(socket, 426, 'Upgrade Required', 'Sec-WebSocket-Version: 13\r\n');
      else rejectUpgrade(socket, 400, 'Bad Request');
    });
    this.wss = wss;
    if (!this.ownsAdapter) this.guardUnknownPaths(server, this.adapter);
  }

  /**
   * Nest's WsAdapter resets an upgrade for a path none of its servers serve:
   * answer 404 first, as on a port of our own. The guard stays with the HTTP
   * server (it answers only what the adapter would reset), once per server.
   */
  private guardUnknownPaths(server: http.Server, adapter: WsAdapter): void {
    if (guardedServers.has(server)) return;
    guardedServers.add(server);
    server.prependListener('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      if (!wsAdapterDispatches(adapter, ADAPTER_HTTP_PORT)) return;
      if (!wsAdapterPaths(adapter, ADAPTER_HTTP_PORT).includes(upgradePath(req))) rejectUpgrade(socket, 404, 'Not Found');
    });
  }

  /** Why a new peer is refused, if it is (connection limit, admission rules); counted and logged. */
  private refusal(req: http.IncomingMessage): boolean {
    if (!this.accepting) return true;
    if (this.connectionCount >= this.options.maxConnections) {
      this.core.metrics.refused('ws', IMErrors.TOO_MANY_CONNECTIONS.id);
      this.logger.warn(`${IMErrors.TOO_MANY_CONNECTIONS.id}: ${this.options.maxConnections} WebSocket connections`);
      return true;
    }
    return this.core.admit('ws', req.socket.remoteAddress ?? '', true) !== null;
  }

  /** Graceful shutdown: new upgrades get 503; on its own port, stops listening. Open WebSockets stay until `close()`. */
  stopAccepting(): void {
    this.accepting = false;
    if (this.ownsServer && this.server?.listening) this.server.close();
  }

  /**
   * WebSockets the core closed first (close frame sent) may finish the closing
   * handshake for up to `closeTimeoutMs`; the rest are terminated.
   */
  async close(): Promise<void> {
    const { wss, server, adapter } = this;
    this.starting = undefined;
    this.wss = undefined;
    this.server = undefined;
    this.adapter = undefined;
    if (wss) {
      await whenAllClosed(wss.clients, this.options.closeTimeoutMs, (check) => (this.onClientClosed = check));
      this.onClientClosed = undefined;
      for (const ws of wss.clients) ws.terminate();
    }
    if (wss && adapter) {
      if (this.ownsAdapter) await adapter.dispose();
      else removeFromWsAdapter(adapter, ADAPTER_HTTP_PORT, wss);
      await adapter.close(wss);
    }
    this.ownsAdapter = false;
    if (!server || !this.ownsServer) return;
    this.ownsServer = false;
    server.closeAllConnections?.();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Destroys `socket` unless its upgrade completes within `handshakeTimeoutMs`. */
  private startHandshakeDeadline(socket: Duplex): void {
    const timer = setTimeout(destroySocket, this.options.handshakeTimeoutMs, socket);
    timer.unref();
    handshakeTimers.set(socket, timer);
    socket.once('close', clearOwnDeadline);
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

/** HTTP servers whose application WsAdapter has the 404 guard in front. */
const guardedServers = new WeakSet<http.Server>();

/** Handshake deadlines by socket: a WeakMap rather than a property, so sockets keep Node's own shape. */
const handshakeTimers = new WeakMap<Duplex, NodeJS.Timeout>();

/**
 * Clears the deadline of the upgraded socket and, under TLS, of the TCP socket beneath it, and
 * drops what it held: a connection that lives for hours must not keep its handshake's timer.
 */
function clearHandshakeDeadline(socket: Duplex): void {
  for (let s: Duplex | undefined = socket; s; s = (s as { _parent?: Duplex })._parent) clearOwnDeadline.call(s);
}

/** One function for every socket (no closure per connection): `this` is the socket. */
function clearOwnDeadline(this: Duplex): void {
  const timer = handshakeTimers.get(this);
  if (!timer) return;
  clearTimeout(timer);
  handshakeTimers.delete(this);
  this.off('close', clearOwnDeadline);
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}
