/**
 * The transport seam of the client. `IMClient` only ever talks to an `IMLink`,
 * so a browser bundle that uses `WsLink` never pulls in the TCP or UDP code,
 * and tests can plug in any byte pipe.
 */

import type { TransportKind } from '../protocol/transport-kind';

/** Which transport a link uses; it selects the keepalive preset table (UDP differs, PROTOCOL.md §5.2). */
export type LinkKind = TransportKind;

/** How a link ended, reported once through {@link IMLink.onClose}. */
export interface LinkCloseInfo {
  /** True when `close()` on this side started it. */
  local: boolean;
  /** The transport error that ended it, if any. */
  error?: Error;
  /** WebSocket only: the close code received (1006 when the connection dropped without a close frame). */
  code?: number;
}

/**
 * One connection to the server that carries packet bodies (JSON text), one
 * body per frame, datagram or WebSocket message. A link may be opened again
 * after it closed; each `open()` makes a new socket.
 */
export interface IMLink {
  /** The transport, used to pick keepalive presets. */
  readonly kind: LinkKind;
  /** True between a successful `open()` and `close()` or the peer closing. */
  readonly isOpen: boolean;
  /** Connects; rejects if the connection cannot be made. */
  open(): Promise<void>;
  /** Sends one packet body. Throws when the link is not open. */
  send(body: string): void;
  /** Starts closing after pending writes; `onClose` follows once the socket is gone. No-op when closed. */
  close(): void;
  /**
   * Wire-level hook for tests: writes bytes exactly as given, with no framing —
   * unframed bytes into the TCP stream, one binary WebSocket message, one UDP
   * datagram. Throws when the link is not open. The built-in links have it.
   */
  sendRaw?(bytes: Uint8Array): void;
  /**
   * Drops the connection now, without flushing writes or a closing handshake
   * (TCP destroy, WebSocket terminate, UDP close); `onClose` follows. For tests
   * of abrupt disconnects. No-op when closed. The built-in links have it.
   */
  abort?(): void;
  /** Called with each received packet body, in arrival order. */
  onPacket?: (text: string) => void;
  /** Called once per opened connection when it is gone, whoever closed it. */
  onClose?: (info: LinkCloseInfo) => void;
}

/** Makes a fresh link for each `IMClient.connect()`. */
export type IMLinkFactory = () => IMLink;
