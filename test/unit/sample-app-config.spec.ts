import { configFromEnv } from '../../sample-app/app.config';

describe('sample app configuration: operations variables', () => {
  it('reads IM_ADMIN_TOKEN, absent when empty', () => {
    expect(configFromEnv({ IM_ADMIN_TOKEN: ' s3cret ' }).adminToken).toBe('s3cret');
    expect(configFromEnv({ IM_ADMIN_TOKEN: '  ' }).adminToken).toBeUndefined();
    expect(configFromEnv({}).adminToken).toBeUndefined();
  });

  it('reads IM_LOG_FORMAT as json or text, and refuses anything else', () => {
    expect(configFromEnv({ IM_LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(configFromEnv({}).logFormat).toBe('text');
    expect(() => configFromEnv({ IM_LOG_FORMAT: 'pino' })).toThrow(/IM_LOG_FORMAT must be "json" or "text"/);
  });
});
