import { ResolvedIMOptions } from '../im-options.interface';
import { MemoryMessageStore } from './memory-message-store';
import { IMMessageStore, MessageStoreLimits } from './message-store';
import { RedisMessageStore, RedisMessageStoreOptions } from './redis-message-store';

/** The store the `store` option names, and whether the core made it (and so closes it). */
export function createMessageStore(options: ResolvedIMOptions, now: () => number): { store: IMMessageStore | null; owned: boolean } {
  const setting = options.store;
  if (setting === false) return { store: null, owned: false };
  if (typeof setting === 'object' && typeof (setting as IMMessageStore).append === 'function') {
    return { store: setting as IMMessageStore, owned: false };
  }
  const { maxPerUser, maxTotal, ttlMs } = options.storeLimits;
  const limits: MessageStoreLimits = { maxPerUser, maxTotal, ttlMs, maxMessageBytes: largestOutbound(options) };
  if (setting === 'memory') return { store: new MemoryMessageStore(limits, now), owned: true };
  return { store: new RedisMessageStore(setting as RedisMessageStoreOptions, limits), owned: true };
}

/**
 * The size check against the recipient's transports: a user may come back on
 * any enabled transport, so a message is kept if the most generous one can
 * deliver it (at login it waits for a session whose transport takes it).
 */
function largestOutbound(o: ResolvedIMOptions): number {
  const sizes = [o.tcp && o.tcp.maxOutboundBytes, o.udp && o.udp.maxOutboundBytes, o.ws && o.ws.maxOutboundBytes].filter((n): n is number => typeof n === 'number');
  return sizes.length ? Math.max(...sizes) : 65536;
}
