export * from './im-health.indicator';
