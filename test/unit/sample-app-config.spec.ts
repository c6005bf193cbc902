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

  it('reads IM_WORKERS (1-64, default 1), and refuses more than one without IM_REDIS_URL', () => {
    expect(configFromEnv({}).workers).toBe(1);
    expect(configFromEnv({ IM_WORKERS: '2', IM_REDIS_URL: 'redis://127.0.0.1:6390' }).workers).toBe(2);
    expect(configFromEnv({ IM_WORKERS: '1' }).workers).toBe(1);
    expect(() => configFromEnv({ IM_WORKERS: '2' })).toThrow(/IM_WORKERS=2 needs IM_REDIS_URL/);
    for (const bad of ['0', '65', '1.5', 'two']) {
      expect(() => configFromEnv({ IM_WORKERS: bad, IM_REDIS_URL: 'redis://127.0.0.1:6390' })).toThrow(/IM_WORKERS must be a whole number of processes \(1-64\)/);
    }
  });
});
