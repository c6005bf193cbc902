import * as net from 'net';
import { encodeTcpFrame } from '../../lib/protocol/tcp-frame-decoder';
import { IMTestClient, IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { RecordingHandlers } from './fixtures/recording-handlers';

const loginFrame = (userId: string) =>
  encodeTcpFrame(JSON.stringify({ type: 0, from: userId, to: '0', dataContent: JSON.stringify({ loginUserId: userId, loginToken: `token-${userId}` }) }));

/** True when a TCP connection to `port` is refused (the listener stopped accepting). */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

describe('graceful drain on shutdown (issue 11 item 6)', () => {
  let im: IMTestingApp;
  const clients: IMTestClient[] = [];
  afterEach(() => clients.forEach((c) => c.close()));

  it('with a stalled reader: every message ACKed to its sender is delivered or reported; WebSockets get 1001', async () => {
    const logs = new CapturingLogger();
    im = await startIMTestingApp({ providers: [RecordingHandlers], logger: logs, im: { drainTimeoutMs: 1500, tcp: { closeTimeoutMs: 1000 } } });
    const handlers = im.app.get(RecordingHandlers);
    const alice = await im.login('tcp', 'alice');
    const carol = await im.login('ws', 'carol');
    const dave = await im.login('ws', 'dave');
    clients.push(alice, carol, dave);
    // bob logs in, then never reads again.
    const bob = net.connect({ port: im.ports.tcp!, host: '127.0.0.1' });
    await new Promise((resolve) => bob.once('connect', resolve));
    bob.on('error', () => undefined);
    bob.write(loginFrame('bob'));
    await new Promise((resolve) => bob.once('data', resolve));
    bob.pause();

    const toBob = Array.from({ length: 30 }, (_, i) => alice.c2c('bob', `b${i}`));
    const toCarol = Array.from({ length: 30 }, (_, i) => alice.c2c('carol', `c${i}`));
    // carol reads everything but holds back her last 5 ACKs until the shutdown has begun.
    const held: Parameters<IMTestClient['ack']>[0][] = [];
    await until(() => {
      for (const p of carol.inbox.splice(0)) if (p.type === 2) (held.length < 5 && toCarol.indexOf(p.fp as string) >= 25 ? held.push(p) : carol.ack(p));
      return held.length === 5;
    });
    // Every one of the 60 was ACKed to alice: the server took responsibility for it.
    await until(() => alice.inbox.filter((p) => p.type === 4).length === 60);
    const ackedToAlice = alice.inbox.splice(0).filter((p) => p.type === 4).map((p) => p.dataContent as string);
    await until(() => handlers.delivered.length === 25);

    const closing = im.app.close();
    await until(() => refused(im.ports.tcp!), { message: 'new connections refused' });
    // Draining: a new message is not ACKed (its sender keeps it), late ACKs still count.
    alice.c2c('carol', 'too late');
    held.forEach((p) => carol.ack(p));
    await closing;

    expect(im.core.stats.drainIgnored).toBe(1);
    expect(alice.inbox.filter((p) => p.type === 4)).toEqual([]);
    const lost = handlers.lost.map((p) => p.fp as string);
    expect([...handlers.delivered].sort()).toEqual([...toCarol].sort());
    expect([...lost].sort()).toEqual([...toBob].sort());
    expect([...handlers.delivered, ...lost].sort()).toEqual([...ackedToAlice].sort());
    expect((await carol.expectClosed()).code).toBe(1001);
    expect((await dave.expectClosed()).code).toBe(1001);
    expect(logs.lines('log')).toContainEqual(
      expect.stringMatching(/shutdown: 4 sessions closed; packets awaiting an ACK: 5 delivered while draining, 0 stored, 30 lost$/),
    );
    bob.destroy();
  });
});
