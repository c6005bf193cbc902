import {
  BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional,
} from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type { Server as HttpServer } from 'http';
import { IM_BRIDGE } from './bridge/bridge.constants';
import type { IMBridge } from './bridge/im-bridge';
import { IM_CLUSTER } from './cluster/cluster.constants';
import { RedisCluster } from './cluster/redis-cluster';
import type { TransportKind } from './core/connection';
import { IMCore } from './core/im-core';
import { explainListenFailure, httpPortClashMessage, IMListenError, IMListenerName } from './errors/im-listen.error';
import { IM_RESOLVED_OPTIONS } from './im-module-definition';
import { ResolvedIMOptions } from './im-options.interface';
import type { IMListener, IMListenerContext, IMListenerRegistration } from './transports/im-listener';
import { IM_LISTENERS } from './transports/listener-registry';
import { IMTransportServer } from './transports/microservice-strategy';

/** Ports the listeners are bound to (absent: disabled or not started). */
export type IMPorts = Partial<Record<TransportKind, number>>;

/** A built listener and how its bind failures are named. */
interface RunningListener {
  readonly listener: IMListener;
  readonly name: IMListenerName;
  readonly address?: { port: number; host?: string };
  readonly socket: 'tcp' | 'udp';
}

/**
 * Owns the listeners of the transport registry (`transports/listener-registry.ts`):
 * starts every enabled one on application bootstrap (unless `manualStart`),
 * stops accepting and closes sessions on shutdown.
 * The TCP and UDP listeners are Nest microservice strategies too:
 * with `manualStart`, `app.connectMicroservice({ strategy: imServer.tcp })` works.
 */
@Injectable()
export class IMServer implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  /** TCP listener as a Nest microservice strategy, unless disabled. */
  readonly tcp?: IMTransportServer;
  /** UDP listener as a Nest microservice strategy, unless disabled. */
  readonly udp?: IMTransportServer;
  private readonly listeners: RunningListener[] = [];
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
    @Optional() private readonly appConfig?: ApplicationConfig,
  ) {
    for (const registration of IM_LISTENERS) this.build(registration);
    const strategy = (kind: TransportKind) => {
      const found = this.listener(kind);
      return found && new IMTransportServer(found);
    };
    this.tcp = strategy('tcp');
    this.udp = strategy('udp');
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  /** WebSocket listener, unless disabled. */
  get ws(): IMListener | undefined {
    return this.listener('ws');
  }

  /** The enabled listener of `kind`. */
  listener(kind: TransportKind): IMListener | undefined {
    return this.listeners.find((l) => l.listener.kind === kind)?.listener;
  }

  /** Bound ports of the enabled listeners. */
  get ports(): IMPorts {
    const ports: IMPorts = {};
    for (const { listener } of this.listeners) ports[listener.kind] = listener.port;
    return ports;
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
   * Binds every enabled listener; idempotent. Resolves once the listeners on
   * their own ports listen; `ready` also waits for a shared HTTP server,
   * which Nest binds only after bootstrap.
   */
  start(): Promise<IMPorts> {
    this.started ??= this.listenAll().then(
      (ports) => {
        Promise.all(this.listeners.map(({ listener }) => listener.bound())).then(() => {
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

  private build<K extends TransportKind>(registration: IMListenerRegistration<K>): void {
    const options = this.options[registration.kind];
    if (options === false) return;
    const context: IMListenerContext<K> = {
      sink: this.core,
      options: options as IMListenerContext<K>['options'],
      httpServer: () => this.httpAdapterHost?.httpAdapter?.getHttpServer() as HttpServer | undefined,
      wsAdapter: () => this.appConfig?.getIoAdapter(),
    };
    this.listeners.push({ listener: registration.create(context), name: registration.name, socket: registration.socket, address: registration.address(context.options) });
  }

  private async stopOnce(): Promise<void> {
    this.unwatchHttpServer?.();
    for (const { listener } of this.listeners) listener.stopAccepting();
    // Before the sessions close: unhandled inbound messages go back to the queue instead of the offline path.
    await this.bridge?.stop();
    const sessions = this.core.sessionCount;
    const report = await this.core.drain(this.options.drainTimeoutMs);
    this.core.closeAll('shutdown');
    await Promise.all(this.listeners.map(({ listener }) => listener.close()));
    if (sessions > 0 || report.delivered + report.stored + report.lost > 0) {
      this.logger.log(
        `shutdown: ${sessions} sessions closed; packets awaiting an ACK: ${report.delivered} delivered while draining, ${report.stored} stored, ${report.lost} lost`,
      );
    }
    await this.cluster?.stop();
    this.core.stop();
    // After the sessions closed: their unacknowledged packets are being written to the store.
    await this.core.closeStore();
  }

  private async listenAll(): Promise<IMPorts> {
    this.core.start();
    const results = await Promise.allSettled(
      this.listeners.map(({ listener, name, address }) => {
        const starting = listener.start();
        return address ? starting.catch(explainListenFailure(name, address.port, address.host)) : starting;
      }),
    );
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
      // Only a listener with a port of its own can hold the one Nest asked for.
      const holder = this.listeners.find(({ listener, address, socket }) => address && socket === 'tcp' && listener.port === err.port);
      if (holder) this.logger.error(httpPortClashMessage(holder.name, err.port));
    };
    httpServer.on('error', onError);
    this.unwatchHttpServer = () => httpServer.off('error', onError);
  }
}
