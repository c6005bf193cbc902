import type { IMClient } from './im-client';
import { CloseInfo, CloseReason, LoginRequest, LoginResult } from './im-client-types';
import { unrefTimer } from './timers';
import { TypedEmitter } from './typed-emitter';

/** Backoff of {@link AutoReconnect}: exponential, capped, with random jitter. */
export interface ReconnectBackoff {
  /** Delay before the first attempt after a link loss. Default 500 ms. */
  initialDelayMs: number;
  /** Upper bound of any delay. Default 15,000 ms. */
  maxDelayMs: number;
  /** Growth of the delay per failed attempt. Default 2. */
  factor: number;
  /** Share of each delay that is random (0-1), so clients cut off together do not return together. Default 0.3. */
  jitter: number;
}

/** The defaults of {@link ReconnectBackoff}. */
export const DEFAULT_RECONNECT_BACKOFF: ReconnectBackoff = { initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.3 };

/**
 * Delay before attempt `attempt` (0 = the first after the loss): the capped
 * exponential delay, of which a `jitter` share is replaced by `random() * share`.
 */
export function reconnectDelay(attempt: number, backoff: ReconnectBackoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * Math.pow(backoff.factor, attempt));
  const share = base * Math.min(1, Math.max(0, backoff.jitter));
  return Math.round(base - share + random() * share);
}

/** Options of {@link AutoReconnect}. */
export interface AutoReconnectOptions extends Partial<ReconnectBackoff> {
  /** Random source of the jitter (tests pass a constant). Default `Math.random`. */
  random?: () => number;
}

/** Events of {@link AutoReconnect}. */
export interface AutoReconnectEvents {
  /** The link was lost; attempt `attempt` (1-based) starts in `delayMs`. */
  scheduled: (info: { attempt: number; delayMs: number }) => void;
  /** Logged in again, as the same device (`firstLoginTime` unchanged). */
  reconnected: (info: { attempt: number; firstLoginTime: number }) => void;
  /** An attempt could not connect or log in; another is scheduled. */
  attemptFailed: (info: { attempt: number; error: Error }) => void;
  /** The server answered the re-login with a non-zero code; reconnecting stops. */
  refused: (result: LoginResult) => void;
}

/** Closes after which the SDKs re-login: the server or the network went away, not this side or a kick. */
const RECOVERABLE: ReadonlySet<CloseReason> = new Set<CloseReason>(['remote', 'keepalive-timeout']);

/**
 * Logs an {@link IMClient} in again after a link loss, as the official SDKs'
 * auto re-login does, with backoff between attempts. The re-login sends the
 * client's saved `firstLoginTime`, so the server treats it as the same device
 * (no kick of a newer session, PROTOCOL.md §7.3), and QoS sends still pending
 * are resent on the new link. A kick, a logout, `close()` or a refused login
 * stop it. The client must be built with a link factory or a reopenable link.
 */
export class AutoReconnect extends TypedEmitter<AutoReconnectEvents> {
  private readonly backoff: ReconnectBackoff;
  private readonly random: () => number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private active = true;
  private readonly onClose = (info: CloseInfo): void => {
    if (RECOVERABLE.has(info.reason)) this.schedule();
    else if (info.reason !== 'login-failed') this.stop();
  };

  /** Starts watching `client`; `credentials` are sent on every re-login (their `firstLoginTime` is ignored). */
  constructor(
    private readonly client: IMClient,
    private readonly credentials: LoginRequest,
    options: AutoReconnectOptions = {},
  ) {
    super();
    const { random, ...backoff } = options;
    this.backoff = { ...DEFAULT_RECONNECT_BACKOFF, ...backoff };
    this.random = random ?? Math.random;
    client.on('close', this.onClose);
  }

  /** True while an attempt is scheduled or running. */
  get reconnecting(): boolean {
    return this.timer !== null || this.attempt > 0;
  }

  /** Stops reconnecting and forgets the client; it stays as it is. */
  stop(): void {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.client.off('close', this.onClose);
  }

  private schedule(): void {
    if (!this.active || this.timer) return;
    const delayMs = reconnectDelay(this.attempt, this.backoff, this.random);
    this.attempt++;
    this.emit('scheduled', { attempt: this.attempt, delayMs });
    this.timer = unrefTimer(setTimeout(() => void this.run(), delayMs));
  }

  private async run(): Promise<void> {
    this.timer = null;
    const attempt = this.attempt;
    try {
      await this.client.connect();
      const { userId, token, extra } = this.credentials;
      const result = await this.client.login({ userId, token, extra });
      if (!this.active) return;
      if (result.code !== 0) {
        this.emit('refused', result);
        this.stop();
        return;
      }
      this.attempt = 0;
      this.emit('reconnected', { attempt, firstLoginTime: this.client.firstLoginTime });
    } catch (err) {
      if (!this.active) return;
      this.emit('attemptFailed', { attempt, error: err as Error });
      // The login timed out on an open link: drop the link (not close(), which would
      // report pending sends lost); its 'close' schedules the next attempt.
      if (this.client.isConnected) return this.client.link?.close();
      // A link that opened and then closed has already scheduled the next attempt through 'close'.
      this.schedule();
    }
  }
}
