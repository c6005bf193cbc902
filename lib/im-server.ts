import {
  BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server as HttpServer } from 'http';
import { IM_CLUSTER } from './cluster/cluster.constants';
import { RedisCluster } from './cluster/redis-cluster';
import { IMCore } from './core/im-core';
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
  /** Resolves with the bound ports once every enabled listener is listening. */
  readonly ready: Promise<IMPorts>;

  constructor(
    readonly core: IMCore,
    @Inject(IM_RESOLVED_OPTIONS) private readonly options: ResolvedIMOptions,
    @Inject(IM_CLUSTER) private readonly cluster: RedisCluster | null,
    @Optional() private readonly httpAdapterHost?: HttpAdapterHost,
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
        this.rejectReady(err);
        throw err;
      },
    );
    return this.started;
  }

  /** Stops accepting, closes every session and reports pending QoS packets lost. */
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
    const closing = [this.tcp?.close(), this.udp?.close(), this.wsGateway?.close()];
    this.core.closeAll('shutdown');
    await Promise.all(closing);
    await this.cluster?.stop();
    this.core.stop();
  }

  private async listenAll(): Promise<IMPorts> {
    this.core.start();
    if (this.options.ws) {
      const httpServer = this.httpAdapterHost?.httpAdapter?.getHttpServer() as HttpServer | undefined;
      this.wsGateway = new WsGateway(this.core, this.options.ws, httpServer);
    }
    await Promise.all([this.tcp?.start(), this.udp?.start(), this.wsGateway?.start()]);
    return this.ports;
  }
}
