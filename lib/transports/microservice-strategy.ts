import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { TransportKind } from '../core/connection';
import type { IMListener } from './im-listener';

/**
 * A listener as a Nest microservice custom transport:
 * `app.connectMicroservice({ strategy: app.get(IMServer).tcp })` starts and
 * closes it with the application's microservices (with `manualStart`).
 * Frames still go to the IM core, not to `@MessagePattern` handlers.
 */
export class IMTransportServer extends Server implements CustomTransportStrategy {
  override readonly transportId: symbol;

  constructor(
    /** The listener this strategy starts and closes. */
    readonly listener: IMListener,
  ) {
    super();
    this.transportId = Symbol(`nestjs-im:${listener.kind}`);
  }

  get kind(): TransportKind {
    return this.listener.kind;
  }

  /** Port actually bound, once listening. */
  get port(): number | undefined {
    return this.listener.port;
  }

  listen(callback: (err?: unknown) => void): void {
    this.listener.start().then(() => callback(), callback);
  }

  /** Promise form of `listen`. */
  start(): Promise<void> {
    return this.listener.start();
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  unwrap<T>(): T {
    return this.listener as T;
  }

  /** The IM transports emit no Nest microservice events; listeners are accepted and ignored. */
  on(): void {}

  /** Incoming frames go to the IM core, not to `@MessagePattern` handlers. */
  override addHandler(): void {}
}
