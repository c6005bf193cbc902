import type { Server as HttpServer } from 'http';
import type { Server as NetServer } from 'net';
import type { TransportKind } from '../core/connection';
import type { IMSessionSink } from '../core/session-sink';
import type { IMListenerName } from '../errors/im-listen.error';
import type { ResolvedIMOptions } from '../im-options.interface';

/**
 * One way in for clients (TCP, UDP, WebSocket...). A listener accepts peers,
 * frames their bytes and hands frame bodies to the {@link IMSessionSink}; it
 * knows nothing of the protocol. `IMServer` starts and closes every enabled
 * listener through this contract alone.
 */
export interface IMListener {
  readonly kind: TransportKind;
  /** Port actually bound, once listening (absent before start and after close). */
  readonly port: number | undefined;
  /** Open connections (UDP: known peer addresses). */
  readonly connectionCount: number;
  /** Binds; resolves once accepting, rejects with the bind error. */
  start(): Promise<void>;
  /**
   * Resolves once the server the listener accepts on is listening: at once for
   * its own socket, later for the Nest HTTP server it shares (bound after bootstrap).
   */
  bound(): Promise<void>;
  /**
   * Graceful shutdown, first step: no new connections (UDP: no new peers); the
   * open ones stay until `close()`. Idempotent.
   */
  stopAccepting(): void;
  /**
   * Stops accepting and closes every connection; idempotent. Connections the
   * core already closed (flush, then FIN or a close frame) may finish for up to
   * the transport's `closeTimeoutMs`; the rest are dropped.
   */
  close(): Promise<void>;
  /**
   * The socket server it accepts connections on, once started (TCP: its own;
   * WebSocket: its own HTTP server or the Nest one); none for UDP. `runIMWorkers`
   * closes and reopens it to take a worker out of the shared port's rotation.
   */
  acceptingServer?(): NetServer | undefined;
}

/** What a listener is built from. */
export interface IMListenerContext<K extends TransportKind> {
  /** Where sessions go (the core). */
  readonly sink: IMSessionSink;
  /** This transport's resolved options. */
  readonly options: Exclude<ResolvedIMOptions[K], false>;
  /** The Nest application's HTTP server, if any; read when the listener starts (Nest creates it late). */
  readonly httpServer: () => HttpServer | undefined;
  /** The application's WebSocket adapter (`app.useWebSocketAdapter`), if any; read when the listener starts. */
  readonly wsAdapter: () => unknown;
}

/**
 * A transport's entry in the registry (`listener-registry.ts`): its options key,
 * how start-up errors name it, and how to build it. Adding a transport is a
 * folder with its listener, one registration and its options.
 */
export interface IMListenerRegistration<K extends TransportKind = TransportKind> {
  readonly kind: K;
  /** Name in start-up errors (`IMListenError`). */
  readonly name: IMListenerName;
  /** The kind of port it binds: a Nest HTTP server clashes only with a TCP one. */
  readonly socket: 'tcp' | 'udp';
  /** The port and host a bind failure should name; undefined when the listener binds nothing of its own. */
  address(options: Exclude<ResolvedIMOptions[K], false>): { port: number; host?: string } | undefined;
  create(context: IMListenerContext<K>): IMListener;
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
