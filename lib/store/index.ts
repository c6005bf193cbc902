export * from './message-store';
export { MemoryMessageStore } from './memory-message-store';
export { RedisMessageStore, type RedisMessageStoreOptions, type RedisStoreConnection } from './redis-message-store';
