export * from './im-admin.service';
