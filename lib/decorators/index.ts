export * from './im-handler.decorators';
export * from './im-param.decorators';
