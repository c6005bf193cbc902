import type { CoreContext } from './core-context';
import type { StorePath } from './store-path';

/** What a graceful drain did with the packets awaiting an ACK. */
export interface DrainReport {
  /** ACKed while draining. */
  readonly delivered: number;
  /** Handed to the message store (none without one). */
  readonly stored: number;
  /** Reported lost (`@OnMessagesLost`, PushService `lost`). */
  readonly lost: number;
}

/**
 * Graceful shutdown (issue 11), the core's half: stop taking new messages
 * (the pipeline then processes only ACKs, keepalives and logouts, and a
 * client's unACKed message is resent to another server by its own QoS), wait
 * a bounded time for the ACKs of packets whose recipient is still connected
 * here, and hand what is still unACKed to the store path: kept by a durable
 * store, else reported lost. Closing the sessions is the caller's step.
 */
export class GracefulDrain {
  constructor(
    private readonly ctx: CoreContext,
    private readonly storePath: StorePath,
  ) {}

  /** Drains for up to `timeoutMs` (real time: it bounds a process's shutdown), then hands the rest over. */
  async drain(timeoutMs: number): Promise<DrainReport> {
    const { stats } = this.ctx;
    this.ctx.draining = true;
    const delivered0 = stats.delivered;
    const deadline = Date.now() + timeoutMs;
    // Polls: an ACK settles the table from any session, and there is no event per settle to wait on.
    while (Date.now() < deadline && this.awaitingConnectedAck()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
    const lost0 = stats.lost;
    const handedOver = this.handOverAll();
    // A durable store's answers, so that what it refused is counted as lost.
    await this.storePath.settled();
    const lost = stats.lost - lost0;
    return { delivered: stats.delivered - delivered0, stored: handedOver - lost, lost };
  }

  /** Every packet awaiting an ACK goes to the store path ('shutdown'); returns how many. */
  handOverAll(): number {
    // From here a store that dies with the process keeps nothing: what it would get is reported lost.
    this.ctx.shuttingDown = true;
    const pending = this.ctx.sendQoS.takeAll();
    this.storePath.undelivered(pending, 'shutdown');
    return pending.length;
  }

  /** Some packet awaits an ACK from a user still connected here (an ACK can still come). */
  private awaitingConnectedAck(): boolean {
    for (const userId of this.ctx.sendQoS.recipients()) {
      const session = this.ctx.online.get(userId);
      if (session && !session.closed) return true;
    }
    return false;
  }
}
