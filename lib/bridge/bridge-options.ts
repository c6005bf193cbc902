/**
 * Which MobileIMSDK server this one plays on the bridge. `app` is the
 * reference server's own side (publish `q_app2web`, consume `q_web2app`),
 * beside a MobileIMSDK-Web server; `web` is the mirror (consume `q_app2web`,
 * publish `q_web2app`), beside a running Java MobileIMSDK server.
 */
export type BridgeSide = 'app' | 'web';

/** The MobileIMSDK-Web bridge over RabbitMQ (needs the `amqplib` package). Off unless set. */
export interface BridgeOptions {
  /** AMQP URL of the broker, e.g. `amqp://user:pass@rabbit:5672/vhost`. */
  url: string;
  /** This server's side of the bridge. */
  side: BridgeSide;
  /** Name of the queue the app side publishes to. Default `q_app2web`, as the reference. */
  app2webQueue?: string;
  /** Name of the queue the web side publishes to. Default `q_web2app`, as the reference. */
  web2appQueue?: string;
  /** Delay between reconnection attempts while the broker is unreachable. Default 5000 ms, as the reference. */
  reconnectDelayMs?: number;
  /** How long a publish waits for the broker's confirm before it counts as failed (offline path). Default 5000 ms. */
  confirmTimeoutMs?: number;
  /** Inbound messages handled at once (consumer prefetch). Default 100. */
  prefetch?: number;
  /** Largest inbound message; a larger one is dropped as poison. Default 65536 bytes. */
  maxMessageBytes?: number;
}

/** {@link BridgeOptions} with defaults applied and the queues resolved for the side. */
export interface ResolvedBridgeOptions {
  readonly url: string;
  readonly side: BridgeSide;
  /** Queue this server publishes to. */
  readonly publishQueue: string;
  /** Queue this server consumes. */
  readonly consumeQueue: string;
  readonly reconnectDelayMs: number;
  readonly confirmTimeoutMs: number;
  readonly prefetch: number;
  readonly maxMessageBytes: number;
}

/** The reference's queue names (`BridgeProcessor.IMMQ_QUEUE_APP2WEB` / `IMMQ_QUEUE_WEB2APP`). */
export const DEFAULT_BRIDGE_QUEUES = { app2web: 'q_app2web', web2app: 'q_web2app' } as const;

/** Applies the documented defaults and picks the publish and consume queues of the side. */
export function resolveBridgeOptions(o: BridgeOptions): ResolvedBridgeOptions {
  if (o.side !== 'app' && o.side !== 'web') throw new Error(`bridge.side must be "app" or "web", got "${o.side}"`);
  if (!o.url) throw new Error('bridge.url is required');
  const app2web = o.app2webQueue ?? DEFAULT_BRIDGE_QUEUES.app2web;
  const web2app = o.web2appQueue ?? DEFAULT_BRIDGE_QUEUES.web2app;
  return {
    url: o.url,
    side: o.side,
    publishQueue: o.side === 'app' ? app2web : web2app,
    consumeQueue: o.side === 'app' ? web2app : app2web,
    reconnectDelayMs: positive(o.reconnectDelayMs, 5000, 'reconnectDelayMs'),
    confirmTimeoutMs: positive(o.confirmTimeoutMs, 5000, 'confirmTimeoutMs'),
    prefetch: positive(o.prefetch, 100, 'prefetch'),
    maxMessageBytes: positive(o.maxMessageBytes, 65536, 'maxMessageBytes'),
  };
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bridge.${name} must be a positive number, got ${v}`);
  return v;
}
