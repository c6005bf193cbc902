import { Packet } from '../protocol/packet';
import { unrefTimer } from './timers';

/** Selects packets for {@link PacketQueue.take}. */
export type PacketPredicate = (packet: Packet) => boolean;

interface Waiter {
  predicate: PacketPredicate;
  resolve: (packet: Packet) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A FIFO of received packets for tests and benchmarks that assert exact wire
 * behaviour. A packet goes to the oldest waiter whose predicate accepts it,
 * or is queued. The queue is bounded (oldest dropped first) because a client
 * that never reads it must not grow without limit.
 */
export class PacketQueue {
  private readonly items: Packet[] = [];
  private readonly waiters: Waiter[] = [];
  /** Packets dropped because the queue was full. */
  dropped = 0;

  constructor(private readonly capacity: number) {}

  /** Packets queued and not yet taken. */
  get length(): number {
    return this.items.length;
  }

  /** Offers a received packet to the waiters, else queues it. */
  push(packet: Packet): void {
    const i = this.waiters.findIndex((w) => w.predicate(packet));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(packet);
      return;
    }
    if (this.capacity <= 0) return;
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(packet);
  }

  /** Removes and returns the oldest matching queued packet, or waits up to `timeoutMs` for one. */
  take(predicate: PacketPredicate, timeoutMs: number): Promise<Packet> {
    const i = this.items.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    return new Promise<Packet>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: unrefTimer(
          setTimeout(() => {
            const at = this.waiters.indexOf(waiter);
            if (at >= 0) this.waiters.splice(at, 1);
            reject(new Error(`no matching packet received within ${timeoutMs} ms`));
          }, timeoutMs),
        ),
      };
      this.waiters.push(waiter);
    });
  }

  /** Removes and returns every queued packet. */
  drain(): Packet[] {
    return this.items.splice(0, this.items.length);
  }

  /** Fails every waiter (the link closed); queued packets stay readable. */
  rejectWaiters(error: Error): void {
    for (const w of this.waiters.splice(0, this.waiters.length)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }
}
