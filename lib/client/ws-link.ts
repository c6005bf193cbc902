import type * as tls from 'tls';
import { IMLink, LinkCloseInfo } from './link';
import { isNode, loadNodeModule } from './node-module';
import { unrefTimer } from './timers';

/**
 * The part of the WHATWG WebSocket API the link uses. Both the browser's
 * global `WebSocket` and the `ws` package's class provide it, so one code path
 * serves both.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: { error?: unknown; message?: string }) => void) | null;
  /** A string is sent as a text message, bytes as a binary message. */
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection without the closing handshake. */
  terminate?(): void;
}

/** A WebSocket class: the browser global, `ws`'s export, or a test double. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

/** Options of {@link WsLink}: a full `url`, or `host` and `port`. */
export interface WsLinkOptions {
  /** Full URL, e.g. `wss://im.example.com/websocket`; overrides host/port/path/secure. */
  url?: string;
  /** Server host (used when `url` is not given). */
  host?: string;
  /** Server port (the reference uses 3000). */
  port?: number;
  /** Use `wss`. Default false. */
  secure?: boolean;
  /** Request path; the reference only answers exactly `/websocket` (PROTOCOL.md §1.2). */
  path?: string;
  /** WebSocket implementation. Default: `ws` under Node.js, the global `WebSocket` elsewhere. */
  WebSocket?: WebSocketConstructor;
  /** After `close()`, drop the connection if the closing handshake has not finished (`ws` only). Default 2000 ms. */
  closeTimeoutMs?: number;
  /** TLS options for `wss:` under Node with `ws`, e.g. `{ ca }` for a private CA; ignored by a browser WebSocket. */
  tls?: tls.ConnectionOptions;
}

const OPEN = 1;

/** A WebSocket link: one packet per text message at `ws://host:port/websocket`. Works in Node and browsers. */
export class WsLink implements IMLink {
  readonly kind = 'ws' as const;
  onPacket?: (text: string) => void;
  onClose?: (info: LinkCloseInfo) => void;
  /** The URL the link connects to. */
  readonly url: string;
  private ws: WebSocketLike | null = null;
  private closing = false;
  private clearCloseTimer?: () => void;

  constructor(private readonly options: WsLinkOptions) {
    this.url = options.url ?? buildUrl(options);
  }

  get isOpen(): boolean {
    return this.ws !== null && !this.closing && this.ws.readyState === OPEN;
  }

  open(): Promise<void> {
    if (this.ws) return Promise.reject(new Error('WsLink is already open'));
    const { Impl, nodeOptions } = resolveImplementation(this.options.WebSocket, this.options.tls);
    return new Promise<void>((resolve, reject) => {
      const ws = nodeOptions ? new Impl(this.url, undefined, nodeOptions) : new Impl(this.url);
      ws.binaryType = 'arraybuffer';
      let error: Error | undefined;
      ws.onerror = (event) => (error ??= toError(event));
      ws.onclose = (event) => reject(error ?? new Error(`WebSocket ${this.url} closed before opening (code ${event.code})`));
      ws.onopen = () => {
        this.attach(ws);
        resolve();
      };
    });
  }

  send(body: string): void {
    if (!this.isOpen) throw new Error('WsLink is not open');
    (this.ws as WebSocketLike).send(body);
  }

  /** Sends the bytes as one binary message (the protocol uses text messages; for wire tests). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.isOpen) throw new Error('WsLink is not open');
    (this.ws as WebSocketLike).send(bytes);
  }

  /** Drops the connection without the closing handshake (`ws`); a browser WebSocket can only start a close. */
  abort(): void {
    const ws = this.ws;
    if (!ws) return;
    this.closing = true;
    if (ws.terminate) ws.terminate();
    else ws.close(1000);
  }

  close(): void {
    const ws = this.ws;
    if (!ws || this.closing) return;
    this.closing = true;
    ws.close(1000);
    // A server that never answers the close frame would hold `ws` for 30 s.
    if (ws.terminate) {
      const timer = unrefTimer(setTimeout(() => ws.terminate?.(), this.options.closeTimeoutMs ?? 2000));
      this.clearCloseTimer = () => clearTimeout(timer);
    }
  }

  private attach(ws: WebSocketLike): void {
    this.ws = ws;
    this.closing = false;
    let error: Error | undefined;
    ws.onerror = (event) => (error ??= toError(event));
    ws.onmessage = (event) => {
      if (this.closing) return;
      const text = toText(event.data);
      if (text !== undefined) this.onPacket?.(text);
    };
    ws.onclose = (event) => {
      const info: LinkCloseInfo = { local: this.closing, error, code: event.code };
      this.clearCloseTimer?.();
      this.clearCloseTimer = undefined;
      this.ws = null;
      this.closing = false;
      this.onClose?.(info);
    };
  }
}

function buildUrl(o: WsLinkOptions): string {
  if (o.host === undefined || o.port === undefined) throw new Error('WsLink needs either url or host and port');
  const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  return `${o.secure ? 'wss' : 'ws'}://${host}:${o.port}${o.path ?? '/websocket'}`;
}

/**
 * Picks the WebSocket class. Under Node the `ws` package is preferred (it can
 * drop a stalled close and is there on every supported Node version); its
 * permessage-deflate offer is turned off because the reference ignores it.
 */
function resolveImplementation(given?: WebSocketConstructor, tlsOptions?: tls.ConnectionOptions): { Impl: WebSocketConstructor; nodeOptions?: object } {
  if (given) return { Impl: given };
  if (isNode()) {
    try {
      const mod = loadNodeModule<{ WebSocket?: WebSocketConstructor }>('ws');
      const Impl = mod.WebSocket ?? (mod as unknown as WebSocketConstructor);
      return { Impl, nodeOptions: { ...tlsOptions, perMessageDeflate: false } };
    } catch {
      // fall through to a global WebSocket (Node 22+)
    }
  }
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!global) throw new Error('No WebSocket implementation: install "ws" or pass options.WebSocket');
  return { Impl: global };
}

/** Text of a message; binary messages are read as UTF-8 since the body is JSON either way. */
function toText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return undefined;
}

function toError(event: { error?: unknown; message?: string }): Error {
  if (event.error instanceof Error) return event.error;
  return new Error(event.message || 'WebSocket error');
}
