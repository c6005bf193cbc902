import type { IMCloseReason } from '../metrics/close-reason';
import { NO_KICK } from '../protocol/protocol-codes';
import { IMConnection, TransportKind } from './connection';
import { logText } from './log-text';
import type { LogThrottle } from './log-throttle';

let nextSessionId = 1;

/**
 * One client session: a TCP connection, a WebSocket, or a UDP peer address.
 * Handlers receive it; its protocol state is changed only by the core.
 */
export class Session {
  /** Process-unique id, for logs. */
  readonly id = nextSessionId++;
  /** The user this session is logged in as, or null. */
  userId: string | null = null;
  /** `firstLoginTime` sent in this session's login response. */
  firstLoginTime = 0;
  /** `firstLoginTime` the client sent at its last login (0 or less: a new device); the cluster's duplicate-login rules need it. */
  clientLoginTime = 0;
  /** Server time of this session's login (the clock's ms), 0 before. */
  loginAt = 0;
  /** Kick code set just before a kick ends the session; -1 otherwise. */
  kickCode: number = NO_KICK;
  /** Time of the last complete packet, for the idle timeout. */
  lastActivity: number;
  /** The session has ended; nothing more is processed or written. */
  closed = false;
  /** Why the session ended, once it has (undefined while open). */
  closeReason?: IMCloseReason;
  /** Time the session opened (login deadline). */
  readonly openedAt: number;
  /** The client asked at login to be told at once when a QoS C2C will not be delivered. */
  notifyUndeliverable = false;
  /** True once the session has logged in at least once (it left the unauthenticated limits). */
  authenticated = false;
  /** Application data attached to the session (e.g. by a login handler). */
  readonly data: Record<string, unknown> = {};

  /** @internal Packets waiting behind an asynchronous handler, in arrival order. */
  queue: string[] | null = null;
  /** @internal An asynchronous step is running; later packets wait. */
  busy = false;
  /** @internal Token bucket of the packet rate limit. */
  tokens: number;
  /** @internal */
  tokensAt: number;
  /** @internal Token bucket of ACKs, keepalives and logout, apart from the data budget. */
  controlTokens: number;
  /** @internal */
  controlTokensAt: number;
  /** @internal Reading is paused until the budget refills (TCP/WS backpressure). */
  paused = false;
  /** @internal Was paused at least once: its client may resend what waited, so its C2C fps are remembered. */
  paced = false;
  /** @internal Time the client was last told it is rate limited. */
  limitedNoticeAt = 0;
  /** @internal Characters of the packets in `queue`. */
  queuedChars = 0;
  /** @internal C2C sends on their way to another cluster node, by recipient: the last one's outcome and how many. */
  crossNode: Map<string, CrossNodeSends> | null = null;
  /** @internal C2C sends of this session on their way to other cluster nodes, all recipients. */
  crossNodeInFlight = 0;
  /** @internal Byte length of the last datagram (UDP replies to strangers may not be larger). */
  lastInboundBytes = 0;
  /**
   * @internal Live packets for this user held while its stored backlog is being
   * written at login (per-recipient order: stored before newer); null otherwise.
   */
  held: string[] | null = null;
  /** @internal When each abuse kind was last logged for this session (see AbuseLog). */
  abuseLoggedAt?: Map<string, LogThrottle>;

  constructor(
    /** The transport's side of the session. */
    readonly connection: IMConnection,
    now: number,
    burst: number,
    controlBurst = burst,
  ) {
    this.lastActivity = now;
    this.openedAt = now;
    this.tokens = burst;
    this.tokensAt = now;
    this.controlTokens = controlBurst;
    this.controlTokensAt = now;
  }

  get transport(): TransportKind {
    return this.connection.transport;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** True once login succeeded and until logout, kick or supersession. */
  get loggedIn(): boolean {
    return this.userId !== null;
  }

  toString(): string {
    return `${this.transport}#${this.id}(${this.userId === null ? 'anonymous' : logText(this.userId)}@${this.remoteAddress}:${this.connection.remotePort})`;
  }
}

/** @internal A session's C2C sends to one recipient that are on their way to another node. */
export interface CrossNodeSends {
  count: number;
  /** Settles (never rejects) once the last of them has its outcome handled. */
  tail: Promise<unknown>;
}
