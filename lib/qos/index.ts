export * from './send-qos-table';
export * from './receive-dedup-table';
