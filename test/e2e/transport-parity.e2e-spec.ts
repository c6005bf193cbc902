import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('transport parity', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { limits: { packetsPerSecond: 10_000, burst: 10_000 } } });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it('a WebSocket client that closes mid-send loses nothing that was ACKed (C2S and C2C)', async () => {
    const ws = await im.login('ws', 'alice');
    const tcp = await im.login('tcp', 'bob');
    const fps: string[] = [];
    for (let i = 0; i < 300; i++) fps.push(i % 2 ? ws.c2s(`m${i}`) : ws.c2c('bob', `m${i}`));
    // Close as soon as the first ACK is in: the server is then mid-stream, however loaded the machine is.
    await until(() => ws.inbox.some((p) => p.type === 4), { intervalMs: 1 });
    ws.close();
    const acked = ws.inbox.filter((p) => p.type === 4).map((p) => p.dataContent as string);
    expect(acked.length).toBeGreaterThan(0);
    await until(() => !im.push.isOnline('alice'));
    const delivered = () => new Set([...handlers.c2s.map((p) => p.fp), ...tcp.inbox.filter((p) => p.type === 2).map((p) => p.fp)]);
    // What was ACKed was handled (C2S) or written to bob (C2C); bob's copy may still be on its way.
    await until(() => acked.every((fp) => delivered().has(fp)), { message: 'every ACKed message delivered' });
  });

  it.each(['tcp', 'ws', 'udp'] as const)('PushService reaches a %s user and hears its ACK', async (kind) => {
    const a = await im.login(kind, `u-${kind}`);
    const result = im.push.send(`u-${kind}`, 'ping');
    a.ack(await a.expect({ type: 2, dataContent: 'ping' }));
    expect((await result).status).toBe('delivered');
  });

  it('chats in every direction between TCP, WebSocket and UDP users', async () => {
    const users = { tcp: await im.login('tcp', 't'), ws: await im.login('ws', 'w'), udp: await im.login('udp', 'u') };
    const ids = { tcp: 't', ws: 'w', udp: 'u' } as const;
    for (const from of ['tcp', 'ws', 'udp'] as const) {
      for (const to of ['tcp', 'ws', 'udp'] as const) {
        if (from === to) continue;
        const fp = users[from].c2c(ids[to], `${from}->${to}`);
        users[to].ack(await users[to].expect({ type: 2, fp, from: ids[from] }));
        await users[from].expect({ type: 4, dataContent: fp, from: ids[to] });
      }
    }
    await until(() => handlers.delivered.length >= 6 && im.core.pendingQoS === 0);
    expect(handlers.delivered).toHaveLength(6);
  });
});
