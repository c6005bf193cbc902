import { Admission } from '../../lib/core/admission';
import { IMConnection } from '../../lib/core/connection';
import { logText } from '../../lib/core/log-text';
import { LoginThrottle } from '../../lib/core/login-throttle';
import { Session } from '../../lib/core/session';
import { IMErrors } from '../../lib/errors/im-error-codes';
import { jsonNestsDeeperThan } from '../../lib/protocol/json-depth';

const connection = (remoteAddress: string, connectionless = false): IMConnection => ({
  transport: connectionless ? 'udp' : 'tcp', remoteAddress, remotePort: 1, connectionless,
  maxOutboundBytes: 1024, idleTimeoutMs: 1000, write: () => true, close: () => undefined,
  pause: () => undefined, resume: () => undefined, congested: false,
});

describe('logText (log injection)', () => {
  it('escapes line breaks, terminal escapes and Unicode line separators', () => {
    expect(logText('a\nb\r\tc\u001b[31m\u2028')).toBe('a\\nb\\r\\tc\\u001b[31m\\u2028');
  });
  it('truncates long values and says how long they were', () => {
    expect(logText('x'.repeat(100))).toBe(`${'x'.repeat(64)}…(100 chars)`);
  });
  it('renders non-strings', () => {
    expect(logText(undefined)).toBe('undefined');
    expect(logText(12)).toBe('12');
  });
});

describe('jsonNestsDeeperThan', () => {
  it('counts nesting of arrays and objects', () => {
    expect(jsonNestsDeeperThan('{"a":[1,{"b":[]}]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[1,{"b":[]}]}', 3)).toBe(true);
  });
  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan('{"a":"[[[[[\\"[[[["}', 1)).toBe(false);
  });
  it('answers in one linear pass for 100,000 levels', () => {
    expect(jsonNestsDeeperThan('['.repeat(100_000), 32)).toBe(true);
  });
});

describe('LoginThrottle', () => {
  const throttle = () => new LoginThrottle({ perAddress: 5, perUser: 2, windowMs: 1000, maxEntries: 3 });
  it('refuses a user id after its failures, until the window refills it', () => {
    const t = throttle();
    t.failed('1.1.1.1', 'alice', 0);
    t.failed('2.2.2.2', 'alice', 0);
    expect(t.allows('3.3.3.3', 'alice', 0)).toBe(false);
    expect(t.allows('3.3.3.3', 'bob', 0)).toBe(true);
    expect(t.allows('3.3.3.3', 'alice', 499)).toBe(false);
    expect(t.allows('3.3.3.3', 'alice', 500)).toBe(true);
  });
  it('refuses an address after its failures across user ids; a success resets both', () => {
    const t = throttle();
    for (let i = 0; i < 5; i++) t.failed('1.1.1.1', `u${i}`, 0);
    expect(t.allows('1.1.1.1', 'zed', 0)).toBe(false);
    t.succeeded('1.1.1.1', 'zed');
    expect(t.allows('1.1.1.1', 'zed', 0)).toBe(true);
  });
  it('holds at most maxEntries buckets', () => {
    const t = throttle();
    for (let i = 0; i < 100; i++) t.failed(`10.0.0.${i}`, `user${i}`, i);
    expect(t.size).toBe(3);
  });
});

describe('Admission', () => {
  it('refuses per address, evicts the oldest past the total, refuses stream connections past the fd cap', () => {
    const a = new Admission({ maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 2, maxStreamConnections: 4 });
    const s1 = new Session(connection('a'), 0, 1);
    a.opened(s1);
    a.opened(new Session(connection('a'), 0, 1));
    expect(a.check('a', true)).toEqual({ admit: false, error: IMErrors.TOO_MANY_UNAUTHENTICATED });
    a.opened(new Session(connection('b', true), 0, 1));
    expect(a.check('c', false)).toEqual({ admit: true, evict: s1 });
    a.authenticated(s1);
    expect(a.unauthenticated).toBe(2);
    expect(a.check('a', true)).toEqual({ admit: true });
    a.opened(new Session(connection('d'), 0, 1));
    expect(a.streamSessions).toBe(3);
    a.opened(new Session(connection('e'), 0, 1));
    expect(a.check('f', true)).toEqual({ admit: false, error: IMErrors.FD_LIMIT });
    expect(a.check('f', false).admit).toBe(true);
    a.closed(s1);
    expect(a.streamSessions).toBe(3);
  });
});
