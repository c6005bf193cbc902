export * from './manual-clock';
export * from './im-test-client';
export * from './im-testing-app';
export * from './until';
