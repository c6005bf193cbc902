import { INestApplicationContext } from '@nestjs/common';
import { runIMWorkers } from '../../lib';

const bootstrap = async () => ({}) as INestApplicationContext;

describe('runIMWorkers options', () => {
  it('rejects out-of-range numbers before forking anything, naming each', () => {
    expect(() => runIMWorkers({ workers: 0, bootstrap })).toThrow(/workers must be an integer in 1\.\.256, got 0/);
    expect(() => runIMWorkers({ workers: 1.5, shutdownTimeoutMs: 0, bootstrap })).toThrow(/workers .*1\.5.*shutdownTimeoutMs must be an integer in 1\.\./);
    expect(() => runIMWorkers({ maxRestarts: -1, restartWindowMs: Number.NaN, bootstrap })).toThrow(/maxRestarts .*-1.*restartWindowMs .*NaN/);
    expect(() => runIMWorkers({ bootstrap: undefined as unknown as typeof bootstrap })).toThrow(/bootstrap must be a function/);
    expect(() => runIMWorkers({ pauseNearFileLimit: 'yes' as unknown as boolean, bootstrap })).toThrow(/pauseNearFileLimit must be a boolean, got yes/);
    // An explicit undefined takes the default (the check fails only on bootstrap here, not on the numbers).
    expect(() => runIMWorkers({ workers: undefined, shutdownTimeoutMs: undefined, bootstrap: 1 as unknown as typeof bootstrap })).toThrow(/^runIMWorkers: bootstrap must be a function$/);
  });
});
