export * from './run-im-workers';
