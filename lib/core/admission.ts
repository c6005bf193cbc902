import { IMErrorDefinition, IMErrors } from '../errors/im-error-codes';
import { Session } from './session';

/** Limits applied when a connection arrives (see `LimitsOptions`). */
export interface AdmissionLimits {
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  /** TCP and WebSocket connections the process can hold before its file-descriptor reserve. */
  maxStreamConnections: number;
}

/** What the admission check decided for a new connection. */
export type AdmissionVerdict =
  | { admit: true; evict?: Session }
  | { admit: false; error: IMErrorDefinition };

/**
 * Connection admission: counts sessions that have not logged in, in total and
 * per remote address, and the stream connections that hold file descriptors.
 * A new connection from an address with too many unauthenticated sessions is
 * refused; when the process-wide unauthenticated cap is reached the oldest such
 * session is evicted instead (so spoofed UDP sources or a slow-connect attack
 * cannot lock real users out: a real client logs in within milliseconds); near
 * the open-file limit stream connections are refused.
 */
export class Admission {
  /** Sessions not logged in yet, oldest first (a Set keeps insertion order). */
  private readonly anonymous = new Set<Session>();
  private readonly perAddress = new Map<string, number>();
  /** Open TCP and WebSocket sessions (each holds a file descriptor). */
  streamSessions = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /** Sessions that have not logged in yet. */
  get unauthenticated(): number {
    return this.anonymous.size;
  }

  /** Decides on a connection from `address`; stream transports hold a file descriptor. */
  check(address: string, stream: boolean): AdmissionVerdict {
    if (stream && this.streamSessions >= this.limits.maxStreamConnections) return { admit: false, error: IMErrors.FD_LIMIT };
    if ((this.perAddress.get(address) ?? 0) >= this.limits.maxUnauthenticatedPerAddress) {
      return { admit: false, error: IMErrors.TOO_MANY_UNAUTHENTICATED };
    }
    if (this.anonymous.size >= this.limits.maxUnauthenticated) {
      return { admit: true, evict: this.anonymous.values().next().value as Session };
    }
    return { admit: true };
  }

  /** A session opened (not logged in). */
  opened(session: Session): void {
    if (!session.connection.connectionless) this.streamSessions++;
    this.anonymous.add(session);
    const address = session.remoteAddress;
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  /** The session logged in for the first time: it no longer counts as unauthenticated. */
  authenticated(session: Session): void {
    if (this.anonymous.delete(session)) this.release(session.remoteAddress);
  }

  /** The session ended. */
  closed(session: Session): void {
    if (!session.connection.connectionless) this.streamSessions--;
    if (this.anonymous.delete(session)) this.release(session.remoteAddress);
  }

  /** True while the session has never logged in. */
  isAnonymous(session: Session): boolean {
    return this.anonymous.has(session);
  }

  private release(address: string): void {
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }
}
