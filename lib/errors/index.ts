export * from './im-error-codes';
export * from './im.exception';
export { IMListenError, type IMListenerName } from './im-listen.error';
