export * from './cluster-options';
export * from './cluster.constants';
export { RedisCluster } from './redis-cluster';
export type { PresenceEntry } from './presence-entry';
