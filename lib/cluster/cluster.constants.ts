/** Injection token of the {@link RedisCluster}, or null when `cluster` is not configured. */
export const IM_CLUSTER = Symbol('nestjs-im:cluster');
