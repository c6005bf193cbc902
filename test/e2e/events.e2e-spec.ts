import { LoggerService } from '@nestjs/common';
import { filter, map } from 'rxjs';
import { IMEvent } from '../../lib';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(m: unknown): void { this.errors.push(String(m)); }
}

describe('PushService.events$ (issue 9 item 7)', () => {
  let im: IMTestingApp;
  let logger: CapturingLogger;
  beforeEach(async () => {
    logger = new CapturingLogger();
    im = await startIMTestingApp({ providers: [RecordingHandlers], configure: (app) => app.useLogger(logger) });
  });
  afterEach(() => im.close());

  it('carries plain data that serialises: user, session id, transport, remote address, reason', async () => {
    const seen: string[] = [];
    const sub = im.push.events$.subscribe((e) => seen.push(JSON.stringify(e)));
    const a = await im.login('tcp', 'alice');
    const b = await im.login('ws', 'bob');
    const fp = a.c2c('bob', 'hi');
    b.ack(await b.expect({ type: 2, fp }));
    const push = im.push.send('bob', 'from the server');
    b.ack(await b.expect({ type: 2, from: '0' }));
    await push;
    a.logout();
    await im.push.kick('bob', 'bye');
    await until(() => seen.filter((s) => s.includes('"offline"')).length === 2);
    sub.unsubscribe();
    const events = seen.map((s) => JSON.parse(s) as IMEvent);
    expect(events[0]).toMatchObject({ type: 'online', userId: 'alice', session: { transport: 'tcp', remoteAddress: '127.0.0.1' } });
    expect(typeof (events[0] as { session: { id: number } }).session.id).toBe('number');
    expect(events).toContainEqual(expect.objectContaining({ type: 'delivered', userId: 'bob', packet: expect.objectContaining({ dataContent: 'from the server' }) }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'offline', userId: 'alice', kickCode: -1, reason: 'logout' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'offline', userId: 'bob', kickCode: 2, reason: 'kicked' }));
  });

  it('isolates a subscriber that throws (directly or in a piped operator): logged, never fatal, others still served', async () => {
    const good: string[] = [];
    im.push.events$.subscribe(() => {
      throw new Error('subscriber bug');
    });
    im.push.events$.pipe(map((e) => { if (e.type === 'online') throw new Error('operator bug'); return e; })).subscribe();
    im.push.events$.pipe(filter((e) => e.type === 'online')).subscribe((e) => good.push(e.userId));
    await im.login('tcp', 'alice');
    const b = await im.login('udp', 'bob');
    b.keepalive();
    await b.expect({ type: 51 });
    expect(good).toEqual(['alice', 'bob']);
    expect(logger.errors.filter((l) => l.includes('subscriber bug')).length).toBeGreaterThanOrEqual(2);
    expect(logger.errors.some((l) => l.includes('operator bug'))).toBe(true);
  });
});
