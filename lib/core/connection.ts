import type { IMCloseReason } from '../metrics/close-reason';
import type { TransportKind } from '../protocol/transport-kind';
export type { TransportKind };

/**
 * What a transport gives the core for each session: a way to write one encoded
 * packet and to end the session. Transports know nothing else about the protocol.
 */
export interface IMConnection {
  readonly transport: TransportKind;
  /** Peer address, for logs and rate limiting. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Connectionless transports (UDP) have no close: where the server would close
   * a TCP or WebSocket connection, it leaves a UDP session as it is.
   */
  readonly connectionless: boolean;
  /** Largest body of a routed data packet (C2C, S2C) the peer's SDK accepts; larger is a failed send. */
  readonly maxOutboundBytes: number;
  /** Idle timeout for this session, in ms. */
  readonly idleTimeoutMs: number;
  /**
   * Writes one encoded packet; `false` when the connection can no longer write
   * or the peer left more than its bound unread (then {@link congested} is true).
   */
  write(body: string): boolean;
  /** The peer has more than the transport's `maxBufferedBytes` unread (a slow consumer); always false for UDP. */
  readonly congested: boolean;
  /** Ends the session after pending writes; for UDP, forgets the peer. */
  close(reason: IMCloseReason): void;
  /**
   * Stops reading from the peer (backpressure: the session is over its packet
   * budget); frames already read may still arrive. A no-op for UDP, which drops instead.
   */
  pause(): void;
  /** Reads from the peer again after {@link pause}. */
  resume(): void;
}
