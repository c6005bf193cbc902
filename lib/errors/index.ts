export * from './im-error-codes';
export * from './im.exception';
export * from './im-listen.error';
