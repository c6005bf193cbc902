import {
  BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server as HttpServer } from 'http';
import { IM_BRIDGE } from './bridge/bridge.constants';
import type { IMBridge } from './bridge/im-bridge';
import { IM_CLUSTER } from './cluster/cluster.constants';
import { RedisCluster } from './cluster/redis-cluster';
import { IMCore } from './core/im-core';
import { explainListenFailure, httpPortClashMessage, IMListenError } from './errors/im-listen.error';
import { WsGateway } from './gateways/ws-gateway';
import { IM_RESOLVED_OPTIONS } from './im-module-definition';
import { ResolvedIMOptions } from './im-options.interface';
import { TcpTransport } from './transports/tcp-transport';
import { UdpTransport } from './transports/udp-transport';

/** Ports the listeners are bound to (absent: disabled or not started). */
export interface IMPorts {
  tcp?: number;
  udp?: number;
  ws?: number;
}

/**
 * Owns the listeners. Starts them on application bootstrap (unless
 * `manualStart`), stops accepting and closes sessions on shutdown.
 * The TCP and UDP transports are Nest microservice strategies too:
 * with `manualStart`, `app.connectMicroservice({ strategy: imServer.tcp })` works.
 */
@Injectable()
export class IMServer implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  /** TCP transport, unless disabled. */
  readonly tcp?: TcpTransport;
  /** UDP transport, unless disabled. */
  readonly udp?: UdpTransport;
  private wsGateway?: WsGateway;
  private readonly logger = new Logger('IMServer');
  private started?: Promise<IMPorts>;
  private stopping?: Promise<void>;
  private resolveReady!: (ports: IMPorts) => void;
  private rejectReady!: (err: unknown) => void;
  private unwatchHttpServer?: () => void;
  /** Resolves with the bound ports once every enabled listener is listening. */
  readonly ready: Promise<IMPorts>;

  constructor(
    readonly core: IMCore,
    @Inject(IM_RESOLVED_OPTIONS) private readonly options: ResolvedIMOptions,
    @Inject(IM_CLUSTER) private readonly cluster: RedisCluster | null,
    @Optional() private readonly httpAdapterHost?: HttpAdapterHost,
    @Optional() @Inject(IM_BRIDGE) private readonly bridge?: IMBridge | null,
  ) {
    if (options.tcp) this.tcp = new TcpTransport(core, options.tcp);
    if (options.udp) this.udp = new UdpTransport(core, options.udp);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  /** WebSocket gateway, once started (it may need the HTTP server). */
  get ws(): WsGateway | undefined {
    return this.wsGateway;
  }

  /** Bound ports of the enabled listeners. */
  get ports(): IMPorts {
    return { tcp: this.tcp?.port, udp: this.udp?.port, ws: this.wsGateway?.port };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.core.start();
    // The cluster joins before any listener accepts, so no login escapes presence.
    await this.cluster?.start();
    // After the cluster, so bridged packets are routed to users on every node.
    await this.bridge?.start();
    if (!this.options.manualStart) await this.start();
  }

  /**
   * Binds every enabled listener; idempotent. Resolves once TCP, UDP and an
   * own-port gateway listen; `ready` also waits for a shared HTTP server,
   * which Nest binds only after bootstrap.
   */
  start(): Promise<IMPorts> {
    this.started ??= this.listenAll().then(
      (ports) => {
        const shared = this.wsGateway?.bound() ?? Promise.resolve();
        shared.then(() => {
          this.logger.log(`IM listeners bound ${JSON.stringify(this.ports)}`);
          this.resolveReady(this.ports);
        }, this.rejectReady);
        return ports;
      },
      (err) => {
        if (err instanceof IMListenError) this.logger.error(err.message);
        this.rejectReady(err);
        throw err;
      },
    );
    return this.started;
  }

  /**
   * Graceful drain (issue 11): stops accepting, processes only ACKs, keepalives
   * and logouts, waits up to `drainTimeoutMs` for outstanding ACKs, hands what
   * is still unACKed over as undelivered, then closes every session (TCP after
   * flushing, WebSocket with a 1001 close frame).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Idempotent: Nest calls both shutdown hooks, and a second stop would talk to a closed Redis. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    this.unwatchHttpServer?.();
    this.tcp?.stopAccepting();
    this.udp?.stopAccepting();
    this.wsGateway?.stopAccepting();
    // Before the sessions close: unhandled inbound messages go back to the queue instead of the offline path.
    await this.bridge?.stop();
    const sessions = this.core.sessionCount;
    const report = await this.core.drain(this.options.drainTimeoutMs);
    this.core.closeAll('shutdown');
    await Promise.all([this.tcp?.close(), this.udp?.close(), this.wsGateway?.close()]);
    if (sessions > 0 || report.delivered + report.stored + report.lost > 0) {
      this.logger.log(
        `shutdown: ${sessions} sessions closed; packets awaiting an ACK: ${report.delivered} delivered while draining, ${report.stored} stored, ${report.lost} lost`,
      );
    }
    await this.cluster?.stop();
    this.core.stop();
  }

  private async listenAll(): Promise<IMPorts> {
    this.core.start();
    if (this.options.ws) {
      const httpServer = this.httpAdapterHost?.httpAdapter?.getHttpServer() as HttpServer | undefined;
      this.wsGateway = new WsGateway(this.core, this.options.ws, httpServer);
    }
    const { tcp, udp, ws } = this.options;
    const results = await Promise.allSettled([
      tcp && this.tcp?.start().catch(explainListenFailure('TCP', tcp.port, tcp.host)),
      udp && this.udp?.start().catch(explainListenFailure('UDP', udp.port, udp.host)),
      ws && typeof ws.port === 'number' ? this.wsGateway?.start().catch(explainListenFailure('WebSocket', ws.port, ws.host)) : this.wsGateway?.start(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Nest runs no shutdown hook after a failed bootstrap (its close() rethrows the error):
      // release what did start here, so that nothing keeps the process alive.
      await this.stop();
      throw failed.reason;
    }
    this.watchHttpServer();
    return this.ports;
  }

  /** Explains the day-one clash: the Nest HTTP server asked to listen on a port an IM listener holds. */
  private watchHttpServer(): void {
    const httpServer = this.httpAdapterHost?.httpAdapter?.getHttpServer() as HttpServer | undefined;
    if (!httpServer || typeof httpServer.on !== 'function') return;
    const onError = (err: Error & { code?: string; port?: number }) => {
      if (err.code !== 'EADDRINUSE' || err.port === undefined) return;
      const ownWsPort = this.options.ws && this.options.ws.port !== 'http' ? this.wsGateway?.port : undefined;
      if (err.port === ownWsPort) this.logger.error(httpPortClashMessage('WebSocket', err.port));
      else if (err.port === this.tcp?.port) this.logger.error(httpPortClashMessage('TCP', err.port));
    };
    httpServer.on('error', onError);
    this.unwatchHttpServer = () => httpServer.off('error', onError);
  }
}
