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

  /** Graceful shutdown: no new connections (UDP: no new peers); the open ones stay until `close()`. */
  abstract stopAccepting(): void;

  /** The IM transports emit no Nest microservice events; listeners are accepted and ignored. */
  on(): void {}

  /** Incoming frames go to the IM core, not to `@MessagePattern` handlers. */
  override addHandler(): void {}
}

/**
 * Resolves once `open` is empty (each closing socket calls `check`), or after
 * `timeoutMs`: a client that ignores the close does not hold the shutdown up.
 */
export function whenAllClosed(open: { readonly size: number }, timeoutMs: number, onClosed: (check: () => void) => void): Promise<void> {
  if (open.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    onClosed(() => {
      if (open.size > 0) return;
      clearTimeout(timer);
      resolve();
    });
  });
}
