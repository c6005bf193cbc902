import { LinkedQueue, QueueNode } from './linked-queue';

/** Limits of a {@link ReceiveDedupTable}. */
export interface DedupLimits {
  /** How long a fingerprint is remembered after it was last seen. */
  ttlMs: number;
  /** Entries in total. */
  maxEntries: number;
  /** Estimated bytes in total (see {@link entryBytes}). */
  maxBytes: number;
  /** Entries of one sender; past it that sender's least recently seen are forgotten. */
  maxEntriesPerUser: number;
}

/** A remembered (sender, fp): in the global age order and in its sender's. */
interface SeenNode extends QueueNode {
  readonly fp: string;
  readonly user: UserEntries;
  readonly bytes: number;
  at: number;
  /** Links of the sender's own age order. */
  userPrev: SeenNode | null;
  userNext: SeenNode | null;
}

/** One sender's fingerprints, oldest first. */
interface UserEntries {
  readonly sender: string;
  readonly fps: Map<string, SeenNode>;
  head: SeenNode | null;
  tail: SeenNode | null;
}

/** Estimated heap cost of an entry: the two strings (UTF-16) plus the node and map slot. */
function entryBytes(sender: string, fp: string): number {
  return 2 * (sender.length + fp.length) + 160;
}

/**
 * C2S receive deduplication (PROTOCOL.md §10.5), keyed by (sender, fp) as the
 * spec recommends (QUIRK-7). Bounded in time, entries, bytes and per sender:
 * entries expire `ttlMs` after they were last seen; past the global caps the
 * least recently seen are evicted; past the per-sender cap that sender's own
 * oldest go, so one flooding user cannot push everybody else's fingerprints
 * out. Every operation is O(1); the caller bounds the length of `fp` and user
 * ids, so no entry costs more than a few hundred bytes or hashes slowly.
 */
export class ReceiveDedupTable {
  private readonly users = new Map<string, UserEntries>();
  private readonly order = new LinkedQueue<SeenNode>();
  private count = 0;
  private totalBytes = 0;
  /** Entries evicted by a size cap before their time (a flood signal). */
  evicted = 0;

  constructor(private readonly limits: DedupLimits) {}

  /** Records (sender, fp) as seen now; returns true if it was already seen within the TTL. */
  checkAndRecord(sender: string, fp: string, now: number): boolean {
    let user = this.users.get(sender);
    if (!user) {
      user = { sender, fps: new Map(), head: null, tail: null };
      this.users.set(sender, user);
    }
    let node = user.fps.get(fp);
    const duplicate = node !== undefined && now - node.at < this.limits.ttlMs;
    if (node) {
      node.at = now;
      this.order.touch(node);
      unlinkUser(node);
      pushUser(node);
    } else {
      node = { fp, user, bytes: entryBytes(sender, fp), at: now, prev: null, next: null, userPrev: null, userNext: null };
      user.fps.set(fp, node);
      pushUser(node);
      this.order.push(node);
      this.count++;
      this.totalBytes += node.bytes;
      if (user.fps.size > this.limits.maxEntriesPerUser) {
        this.evicted++;
        this.remove(user.head as SeenNode);
      }
    }
    this.purge(now);
    return duplicate;
  }

  /** True if (sender, fp) was recorded within the TTL; records nothing. */
  seen(sender: string, fp: string, now: number): boolean {
    const node = this.users.get(sender)?.fps.get(fp);
    return node !== undefined && now - node.at < this.limits.ttlMs;
  }

  /** Forgets (sender, fp), e.g. when what it recorded did not happen after all. */
  forget(sender: string, fp: string): void {
    const node = this.users.get(sender)?.fps.get(fp);
    if (node) this.remove(node);
  }

  /** Removes expired entries and enforces the global caps. */
  purge(now: number): void {
    const { ttlMs, maxEntries, maxBytes } = this.limits;
    for (let node = this.order.first; node; node = this.order.first) {
      const expired = now - node.at >= ttlMs;
      if (!expired && this.count <= maxEntries && this.totalBytes <= maxBytes) break;
      if (!expired) this.evicted++;
      this.remove(node);
    }
  }

  /** Entries remembered. */
  get size(): number {
    return this.count;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.totalBytes;
  }

  private remove(node: SeenNode): void {
    this.order.remove(node);
    unlinkUser(node);
    const user = node.user;
    user.fps.delete(node.fp);
    if (user.fps.size === 0) this.users.delete(user.sender);
    this.count--;
    this.totalBytes -= node.bytes;
  }
}

function pushUser(node: SeenNode): void {
  const user = node.user;
  node.userPrev = user.tail;
  node.userNext = null;
  if (user.tail) user.tail.userNext = node;
  else user.head = node;
  user.tail = node;
}

function unlinkUser(node: SeenNode): void {
  const user = node.user;
  if (node.userPrev) node.userPrev.userNext = node.userNext;
  else user.head = node.userNext;
  if (node.userNext) node.userNext.userPrev = node.userPrev;
  else user.tail = node.userPrev;
  node.userPrev = node.userNext = null;
}
