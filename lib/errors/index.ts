export * from './im-error-codes';
export * from './im-error';
export * from './im.exception';
