import { resolveOptions } from '../../lib';

describe('option validation', () => {
  it('accepts the defaults and every documented special value', () => {
    expect(() => resolveOptions()).not.toThrow();
    expect(() => resolveOptions({ tcp: { port: 0 }, ws: { port: 'http' }, udp: false, qos: { maxRetransmits: 0 }, limits: { fdReserve: 0 } })).not.toThrow();
  });

  it('names every field out of range, with the range', () => {
    expect(() => resolveOptions({ limits: { burst: 0, packetsPerSecond: -1 }, tickMs: 0, tcp: { port: 70000 } })).toThrow(
      /tcp\.port must be an integer from 0 to 65535 \(got 70000\).*limits\.packetsPerSecond must be a number > 0 \(got -1\).*limits\.burst must be a number ≥ 1 \(got 0\).*tickMs must be an integer ≥ 1 \(got 0\)/,
    );
  });

  it('refuses a fingerprint limit below the SDKs\' 36-character UUIDs and NaN anywhere', () => {
    expect(() => resolveOptions({ limits: { maxFingerprintLength: 20 } })).toThrow(/limits\.maxFingerprintLength must be an integer ≥ 36/);
    expect(() => resolveOptions({ qos: { dedupTtlMs: NaN } })).toThrow(/qos\.dedupTtlMs/);
  });
});
