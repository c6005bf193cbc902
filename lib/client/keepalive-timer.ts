import { KeepaliveTimings } from '../protocol/sense-mode';
import { unrefTimer } from './timers';

/**
 * The SDKs' keepalive and link-loss detection (PROTOCOL.md §5.2): send every
 * `intervalMs`, check every `checkIntervalMs`, and report a timeout when no
 * keepalive response came for `timeoutMs` since the last one (or since the
 * first keepalive when none came back yet). Only a type-51 counts as an answer.
 */
export class KeepaliveTimer {
  private sendTimer: ReturnType<typeof setInterval> | null = null;
  private checkTimer: ReturnType<typeof setInterval> | null = null;
  private lastAnswerAt: number | undefined;

  constructor(
    private readonly timings: KeepaliveTimings,
    private readonly send: () => void,
    private readonly onTimeout: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while started. */
  get running(): boolean {
    return this.sendTimer !== null;
  }

  /** (Re)starts both timers; the first keepalive goes out one interval from now. */
  start(): void {
    this.stop();
    this.lastAnswerAt = undefined;
    this.sendTimer = unrefTimer(setInterval(() => this.tick(), this.timings.intervalMs));
    this.checkTimer = unrefTimer(setInterval(() => this.check(), this.timings.checkIntervalMs));
  }

  /** A keepalive response (type 51) arrived. */
  answered(): void {
    if (this.running) this.lastAnswerAt = this.now();
  }

  /** Stops both timers. */
  stop(): void {
    if (this.sendTimer) clearInterval(this.sendTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.sendTimer = this.checkTimer = null;
  }

  private tick(): void {
    // The silence is measured from the first keepalive until a response comes.
    this.lastAnswerAt ??= this.now();
    try {
      this.send();
    } catch {
      // The link is down; the check will notice the silence.
    }
  }

  private check(): void {
    if (this.lastAnswerAt !== undefined && this.now() - this.lastAnswerAt > this.timings.timeoutMs) {
      this.stop();
      this.onTimeout();
    }
  }
}
