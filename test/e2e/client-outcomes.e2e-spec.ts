import { ForbiddenException, Injectable } from '@nestjs/common';
import { OnC2C, Packet } from '../../lib';
import { IMClient, ServerErrorInfo, TcpLink, WsLink } from '../../lib/client';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** Refuses C2C messages whose text is "forbidden" (as a guard or a block list would). */
@Injectable()
class RefuseForbidden {
  @OnC2C()
  check(p: Packet): void {
    if (p.dataContent === 'forbidden') throw new ForbiddenException('not to this user');
  }
}

/**
 * Issue 9 item 6: where the server knows a C2C will not be delivered, the shipped
 * client settles the send at once with a distinct outcome and the code, instead
 * of 'lost' after its ~15 s of resends. The official SDKs see what they saw.
 */
describe('fast, honest C2C outcomes for nestjs-im/client', () => {
  let im: IMTestingApp;
  const clients: IMClient[] = [];
  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers, RefuseForbidden] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await im.close();
  });

  const client = async (userId: string, kind: 'tcp' | 'ws' = 'tcp') => {
    const link = kind === 'tcp' ? new TcpLink({ host: '127.0.0.1', port: im.ports.tcp! }) : new WsLink({ host: '127.0.0.1', port: im.ports.ws! });
    const c = new IMClient(link);
    clients.push(c);
    await c.connect();
    expect((await c.login({ userId, token: `token-${userId}` })).code).toBe(0);
    return c;
  };

  it("a refused message settles 'refused' at once, and its error event carries the code and fp", async () => {
    const alice = await client('alice');
    await client('bob', 'ws');
    const errors: ServerErrorInfo[] = [];
    alice.on('error', (e) => errors.push(e));
    const fp = 'refused-1';
    expect(await alice.sendC2C('bob', 'forbidden', { fp })).toBe('refused');
    expect(errors).toEqual([expect.objectContaining({ errorCode: 403, fp })]);
    expect(await alice.sendC2C('bob', 'fine')).toBe('delivered');
  });

  it("a message to a user online nowhere, that nothing stores, settles 'undeliverable' (error 404)", async () => {
    const alice = await client('alice', 'ws');
    const errors: ServerErrorInfo[] = [];
    alice.on('error', (e) => errors.push(e));
    expect(await alice.sendC2C('nobody', 'hello?', { fp: 'u-1' })).toBe('undeliverable');
    expect(errors).toEqual([expect.objectContaining({ errorCode: 404, fp: 'u-1' })]);
  });

  it("a message the offline handler stores is ACKed: 'delivered' means accepted by the server, as with the SDKs", async () => {
    im.app.get(RecordingHandlers).storeOffline = true;
    const alice = await client('alice');
    expect(await alice.sendC2C('nobody', 'for later')).toBe('delivered');
  });

  it('an SDK that did not ask (no notifyUndeliverable at login) gets nothing, as from the reference', async () => {
    const raw = await im.login('tcp', 'carol');
    raw.c2c('nobody', 'are you there?');
    await raw.expectNothing(300);
  });
});
