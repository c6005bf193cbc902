import { Packet } from '../protocol/packet';

/** One message kept for a user until that user's client ACKs it. */
export interface StoredMessage {
  /** Store-assigned id, increasing in the order of `append` (a cursor for {@link IMMessageStore.read}). */
  readonly id: string;
  readonly packet: Packet;
  /** Server time (ms) the message was accepted. */
  readonly storedAt: number;
}

/** Why a store refused a message. */
export type StoreRefusalReason =
  /** Larger than any transport the server runs could deliver to the user's SDK. */
  | 'too-large'
  /** The user already has `maxPerUser` messages waiting. */
  | 'user-full'
  /** The store holds `maxTotal` messages (memory store). */
  | 'store-full'
  /** The store could not be reached or answered with an error (Redis down, out of memory). */
  | 'unavailable';

/** Answer of {@link IMMessageStore.append}. */
export type AppendResult =
  /** Kept (or already kept: the same fp for the same user is stored once). */
  | { readonly ok: true; readonly duplicate: boolean }
  | { readonly ok: false; readonly reason: StoreRefusalReason };

/** Bounds every store applies. */
export interface MessageStoreLimits {
  /** Messages waiting per user. */
  readonly maxPerUser: number;
  /** Messages waiting in total (the memory store; the Redis store leaves this to Redis' `maxmemory`). */
  readonly maxTotal: number;
  /** A message not ACKed this long after it was stored is dropped. */
  readonly ttlMs: number;
  /** Largest encoded packet kept, in bytes: the largest routed packet any enabled transport delivers. */
  readonly maxMessageBytes: number;
}

/**
 * Where messages wait for a user who is offline, or whose delivery is not
 * confirmed yet: appended by the core, read in order at the user's login,
 * removed only after that user's ACK. Twins: {@link MemoryMessageStore} (the
 * default, lost with the process) and {@link RedisMessageStore} (`durable`:
 * survives a crash of the server, shared by the nodes of a cluster).
 */
export interface IMMessageStore {
  /** Survives a crash of this process: the core then also keeps in-flight QoS C2C here until the ACK. */
  readonly durable: boolean;
  /** Keeps `packet` (which must carry `to` and `fp`) for `userId`, or says why not. Never throws. */
  append(userId: string, packet: Packet): Promise<AppendResult>;
  /** Up to `limit` of the user's messages, oldest first, after the one with id `afterId` (from the start without it). */
  read(userId: string, limit: number, afterId?: string): Promise<StoredMessage[]>;
  /** Removes the user's message `fp` (its client ACKed it); false if it was not there. */
  remove(userId: string, fp: string): Promise<boolean>;
  /** Messages waiting for the user (expired ones not counted). */
  count(userId: string): Promise<number>;
  /** Releases connections and timers; idempotent. */
  close(): Promise<void>;
  /**
   * Optional, for durable stores (crash safety at a lower cost than `append`):
   * keeps a copy of a QoS packet being delivered live to `userId`, outside its
   * queue, until `release` (the recipient's ACK). What a crash leaves behind is
   * moved into the queue by `recover` at the user's next login.
   */
  hold?(userId: string, packet: Packet): Promise<AppendResult>;
  /** Forgets a held copy (ACKed, or moved into the queue by the core). */
  release?(userId: string, fp: string): Promise<void>;
  /** Moves the user's held copies into its queue (after those already there, oldest first); skips fps already queued. */
  recover?(userId: string): Promise<void>;
}
