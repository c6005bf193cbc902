import * as fc from 'fast-check';
import { ENVELOPE_VERSION, isClusterReply, parseEnvelope } from '../../lib/cluster/cluster-messages';

describe('cluster envelopes', () => {
  const packet = { type: 2, from: 'alice', to: 'bob', fp: 'f1', QoS: true, dataContent: 'hi' };

  it('reads a versioned envelope of requests and replies', () => {
    const text = JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: [[1, { kind: 'c2c', packet }], [2, { kind: 'supersede', userId: 'u', clientTime: 0 }]], replies: [[7, true]] });
    const parsed = parseEnvelope(text);
    expect(parsed).toEqual({ ok: true, envelope: JSON.parse(text) });
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '"text"'],
    ['version', JSON.stringify({ v: ENVELOPE_VERSION + 1, from: 'a', requests: [] })],
    ['version', JSON.stringify({ from: 'a', requests: [] })],
    ['no sender node', JSON.stringify({ v: ENVELOPE_VERSION, requests: [] })],
    ['malformed requests', JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: [[1]] })],
    ['malformed requests', JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: [['1', { kind: 'kick', userId: 'u' }]] })],
    ['malformed requests', JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: [[1, { kind: 's2c', userId: 'u', packet: { ...packet, to: 5 } }]] })],
    ['malformed requests', JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: [[1, { kind: 'supersede', userId: 'u', clientTime: '0' }]] })],
    ['malformed requests', JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: [[1, { kind: 'other' }]] })],
    ['malformed replies', JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', replies: {} })],
  ])('refuses %s: %s', (reason, text) => {
    const parsed = parseEnvelope(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok === false && parsed.reason).toContain(reason);
  });

  it('checks a reply against the kind of the request it answers', () => {
    expect(isClusterReply('c2c', true)).toBe(true);
    expect(isClusterReply('c2c', 'yes')).toBe(false);
    expect(isClusterReply('s2c', { userId: 'u', status: 'delivered', fp: 'x' })).toBe(true);
    expect(isClusterReply('s2c', null)).toBe(false);
    expect(isClusterReply('supersede', 'kicked')).toBe(true);
    expect(isClusterReply('supersede', 'everything')).toBe(false);
  });

  it('never throws, whatever arrives on the channel', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ v: ENVELOPE_VERSION, from: 'a', requests: v, replies: v }))), (text) => {
        const parsed = parseEnvelope(text);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
