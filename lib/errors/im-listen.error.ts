import { IMErrors } from './im-error-codes';

/** A listener of nestjs-im, as start-up errors name it. */
export type IMListenerName = 'TCP' | 'UDP' | 'WebSocket';

const OPTION: Record<IMListenerName, string> = { TCP: 'tcp.port', UDP: 'udp.port', WebSocket: 'ws.port' };
const CHOICES: Record<IMListenerName, string> = {
  TCP: '0 picks a free port',
  UDP: '0 picks a free port',
  WebSocket: "0 picks a free port; 'http' shares the Nest HTTP server",
};

type ErrnoError = Error & { code?: string };

/**
 * A listener could not bind at start-up. The message names the listener, the
 * address and the option to change; `id` is `IM_PORT_IN_USE` for EADDRINUSE,
 * `IM_LISTEN_FAILED` otherwise (no permission, no such address).
 */
export class IMListenError extends Error {
  /** Stable id from the error registry. */
  readonly id: string;
  /** The option that sets this listener's port, e.g. `ws.port`. */
  readonly option: string;

  constructor(
    /** Which listener failed. */
    readonly listener: IMListenerName,
    /** The port it was asked to bind. */
    readonly port: number,
    host: string | undefined,
    cause: ErrnoError,
  ) {
    const inUse = cause.code === 'EADDRINUSE';
    const error = inUse ? IMErrors.PORT_IN_USE : IMErrors.LISTEN_FAILED;
    const option = OPTION[listener];
    super(
      `${error.id}: the ${listener} listener cannot listen on ${host ?? '*'}:${port}: ` +
        `${error.message()} (${cause.code ?? cause.message}). Change ${option} (${CHOICES[listener]}).`,
      { cause },
    );
    this.name = 'IMListenError';
    this.id = error.id;
    this.option = option;
  }
}

/** Turns a bind failure of `listener` into an {@link IMListenError}; other errors pass unchanged. */
export function explainListenFailure(listener: IMListenerName, port: number, host: string | undefined): (err: unknown) => never {
  return (err) => {
    const code = (err as ErrnoError | undefined)?.code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new IMListenError(listener, port, host, err as ErrnoError);
    throw err;
  };
}

/**
 * The day-one clash: nestjs-im's own port (WebSocket 3000 by default) taken
 * first, then the Nest HTTP server asked to listen on it. Nest reports a bare
 * EADDRINUSE; this says who holds the port and what to change.
 */
export function httpPortClashMessage(listener: IMListenerName, port: number): string {
  return (
    `${IMErrors.PORT_IN_USE.id}: the Nest HTTP server cannot listen on port ${port}: nestjs-im's ${listener} listener holds it. ` +
    `Change ${OPTION[listener]}${listener === 'WebSocket' ? " ('http' shares the HTTP server)" : ''} or the port given to app.listen().`
  );
}
