import type { IMErrorDefinition } from '../errors/im-error-codes';
import type { IMMetrics } from '../metrics/im-metrics';
import type { IMConnection, TransportKind } from './connection';

/**
 * What a transport holds of a session: an opaque handle it passes back to the
 * sink, and whether the core has closed it (the transport then drops input).
 */
export interface IMSessionHandle {
  readonly closed: boolean;
}

/**
 * The port a transport talks to (the core implements it): admission of a new
 * peer, then open, receive, reject a frame and closed for each session. A
 * transport moves frames and knows nothing else of the protocol or the core.
 */
export interface IMSessionSink {
  /** Admission rules for a new peer; the error that refuses it, or null. `stream`: a TCP or WebSocket connection. */
  admit(transport: TransportKind, remoteAddress: string, stream: boolean): IMErrorDefinition | null;
  /** Opens a session on a new connection. */
  openSession(connection: IMConnection): IMSessionHandle;
  /** One complete frame body (a JSON packet), in arrival order. */
  receive(session: IMSessionHandle, text: string): void;
  /** Input the transport refused before it became a packet (oversize or binary frame). */
  rejectFrame(session: IMSessionHandle, error: IMErrorDefinition, detail?: string): void;
  /** The connection is gone. */
  connectionClosed(session: IMSessionHandle): void;
  /** Where a transport counts a connection refused by its own limit (`refused(kind, IMErrors id)`). */
  readonly metrics: Pick<IMMetrics, 'refused'>;
}
