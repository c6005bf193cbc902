export * from './im-error-codes';
export * from './im.exception';
