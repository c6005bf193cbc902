export * from './manual-clock';
export * from './im-test-client';
export * from './im-testing-app';
export * from './until';
// The cluster's in-memory twins: several nodes of one process form a cluster without Redis.
export { MemoryClusterHub, MemoryPresence, type MemoryChannelListener } from '../cluster/memory-presence';
export type { IMPresence, PresenceRoute } from '../cluster/presence';
