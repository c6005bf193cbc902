import { formatPresence, parsePresence } from '../../lib/cluster/redis-presence';

describe('presence entries in the Redis hash', () => {
  it.each([
    { nodeId: 'host-1234-abcdef', sessionId: 17, firstLoginTime: 1_764_460_800_123 },
    { nodeId: 'a', sessionId: 1, firstLoginTime: 0 },
    // A node id may contain the separator: everything before the last two fields is the node.
    { nodeId: 'rack|7|node', sessionId: 99_999, firstLoginTime: 42 },
    { nodeId: '', sessionId: 3, firstLoginTime: -1 },
  ])('reads back what it wrote: %o', (entry) => {
    expect(parsePresence(formatPresence(entry))).toEqual(entry);
  });

  it('writes node, session and firstLoginTime in that order', () => {
    expect(formatPresence({ nodeId: 'b', sessionId: 5, firstLoginTime: 123 })).toBe('b|5|123');
  });

  it('reads no entry as undefined', () => {
    expect(parsePresence(null)).toBeUndefined();
    expect(parsePresence('')).toBeUndefined();
  });
});
