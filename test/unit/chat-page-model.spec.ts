/** The chat page's pure parts: message states and the sentences shown for codes. */
import { IMErrors } from '../../lib/errors/im-error-codes';
import { Conversations } from '../../sample-app/chat/conversations';
import { kickedText, loginRefusalText, lostText, sendErrorText } from '../../sample-app/chat/texts';
import { BAD_CREDENTIALS } from '../../sample-app/im/chat.handlers';

describe('chat page conversations', () => {
  const state = (c: Conversations, peer: string, fp: string) => c.with(peer).messages.find((m) => m.fp === fp)?.state;

  it('a sent message goes from pending to delivered on its ACK', () => {
    const changed: string[] = [];
    const c = new Conversations((peer) => changed.push(peer));
    c.sending('bob', 'f1', 'hi', 1);
    expect(state(c, 'bob', 'f1')).toBe('pending');
    expect(c.isPending('f1')).toBe(true);
    c.acknowledged('f1');
    expect(state(c, 'bob', 'f1')).toBe('delivered');
    expect(changed).toEqual(['bob', 'bob']);
  });

  it('"stored" wins over the ACK, whichever arrives first', () => {
    const c = new Conversations();
    c.sending('bob', 'notice-first', 'a', 1);
    c.stored('notice-first');
    c.acknowledged('notice-first');
    expect(state(c, 'bob', 'notice-first')).toBe('stored');
    c.sending('bob', 'ack-first', 'b', 2);
    c.acknowledged('ack-first');
    c.stored('ack-first');
    expect(state(c, 'bob', 'ack-first')).toBe('stored');
  });

  it('keeps the first failure reason: a refusal is not replaced by the later "lost"', () => {
    const c = new Conversations();
    c.sending('bob', 'f', 'x', 1);
    c.failed('f', 'not delivered: refused');
    c.failed('f', lostText(false));
    c.acknowledged('f');
    expect(c.with('bob').messages[0]).toMatchObject({ state: 'failed', reason: 'not delivered: refused' });
    expect(c.isPending('f')).toBe(false);
  });

  it('counts unread messages of closed conversations, shows a message once, and lists the latest first', () => {
    const c = new Conversations();
    expect(c.received('alice', 'a1', 'one', 10)).toBe(true);
    expect(c.received('alice', 'a1', 'one again (offline copy)', 11, true)).toBe(false);
    c.received('carol', 'c1', 'hey', 20);
    expect(c.list().map((x) => [x.peer, x.unread])).toEqual([['carol', 1], ['alice', 1]]);
    c.select('alice');
    c.received('alice', 'a2', 'two', 30);
    expect(c.list().map((x) => [x.peer, x.unread])).toEqual([['alice', 0], ['carol', 1]]);
  });

  it('ignores answers about unknown fingerprints', () => {
    const changed: string[] = [];
    const c = new Conversations((peer) => changed.push(peer));
    c.acknowledged('nope');
    c.stored('nope');
    c.failed('nope', 'x');
    expect(changed).toEqual([]);
  });
});

describe('chat page texts', () => {
  it('says why a login was refused, for the sample app and the library codes', () => {
    expect(loginRefusalText(BAD_CREDENTIALS)).toBe('Wrong user id or token.');
    expect(loginRefusalText(IMErrors.LOGIN_REFUSED.wireCode)).toBe('The server refused this login.');
    expect(loginRefusalText(IMErrors.RESERVED_USER_ID.wireCode)).toBe('This user id cannot be used.');
    expect(loginRefusalText(4242)).toBe('The server refused this login (code 4242).');
  });

  it('says why a message failed', () => {
    expect(sendErrorText(403)).toMatch(/^refused/);
    expect(sendErrorText(413)).toBe('too large to send');
    expect(sendErrorText(429)).toMatch(/^rate limited/);
    expect(sendErrorText(999)).toBe('refused by the server (code 999)');
    expect(lostText(true)).toMatch(/rate limited/);
    expect(lostText(false)).toBe('not delivered: no answer after retries');
  });

  it('tells a duplicate login from a kick', () => {
    expect(kickedText(1)).toMatch(/somewhere else/);
    expect(kickedText(2, 'maintenance')).toBe('The server signed you out: maintenance.');
  });
});
