import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { TransportKind } from '../core/connection';

/**
 * Base of the TCP and UDP transports: a Nest microservice custom transport
 * (`app.connectMicroservice({ strategy })` works) that the IM module can also
 * start on its own. It only moves frames; the core does the protocol.
 */
export abstract class IMTransportServer extends Server implements CustomTransportStrategy {
  abstract readonly kind: TransportKind;
  /** Port actually bound, once listening. */
  abstract readonly port: number | undefined;

  /** Promise form of `listen`, used by the module's lifecycle. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => this.listen((err?: unknown) => (err ? reject(err) : resolve())));
  }

  /** The IM transports emit no Nest microservice events; listeners are accepted and ignored. */
  on(): void {}

  /** Incoming frames go to the IM core, not to `@MessagePattern` handlers. */
  override addHandler(): void {}
}
