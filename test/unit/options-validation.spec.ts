import { resolveOptions } from '../../lib';
import { MemoryClusterHub } from '../../lib/testing';

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

  it('takes a cluster on exactly one of Redis and a memory hub, with positive waits', () => {
    expect(() => resolveOptions({ cluster: { redis: 'redis://127.0.0.1:6379', nodeTtlMs: 3000 } })).not.toThrow();
    expect(() => resolveOptions({ cluster: { memory: new MemoryClusterHub(), requestTimeoutMs: 500 } })).not.toThrow();
    expect(() => resolveOptions({ cluster: {} })).toThrow(/cluster needs exactly one of redis .* and memory .* \(got neither\)/);
    expect(() => resolveOptions({ cluster: { redis: 'redis://x', memory: new MemoryClusterHub() } })).toThrow(/\(got both\)/);
    expect(() => resolveOptions({ cluster: { memory: new Map() as never } })).toThrow(/cluster\.memory must be a MemoryClusterHub .*\(got an instance of Map\)/);
    expect(() => resolveOptions({ cluster: { redis: 6379 as never } })).toThrow(/cluster\.redis must be a URL/);
    expect(() => resolveOptions({ cluster: { memory: new MemoryClusterHub(), nodeTtlMs: 0, requestTimeoutMs: 1.5 } })).toThrow(
      /cluster\.requestTimeoutMs must be an integer ≥ 1 \(got 1\.5\).*cluster\.nodeTtlMs must be an integer ≥ 1 \(got 0\)/,
    );
  });
});
