import { Injectable } from '@nestjs/common';
import { OnC2S, Packet } from '../../lib';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

@Injectable()
class TypedC2S {
  readonly seen: number[] = [];
  @OnC2S({ typeu: [100, 101] })
  command(p: Packet): void {
    this.seen.push(p.typeu);
  }
}

describe('C2S (PROTOCOL §10.1)', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers, TypedC2S] });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it('ACKs a QoS packet from "0", ACKs a duplicate again, and calls the handler once', async () => {
    const a = await im.login('ws', 'alice');
    a.c2s('to the server', { fp: 'c2s-1', typeu: 100 });
    const ack = await a.expect({ type: 4, dataContent: 'c2s-1', from: '0', to: 'alice' });
    expect(ack.fp).toBeUndefined();
    a.c2s('to the server', { fp: 'c2s-1', typeu: 100 });
    await a.expect({ type: 4, dataContent: 'c2s-1' });
    await a.expectNothing(100);
    expect(handlers.c2s.map((p) => p.fp)).toEqual(['c2s-1']);
  });

  it('sends nothing back without QoS', async () => {
    const a = await im.login('tcp', 'alice');
    a.c2s('no qos', { qos: false });
    await a.expectNothing(200);
    expect(handlers.calls).toContain('c2s:no qos');
  });

  it('keys dedup by sender: two users may use the same fp (QUIRK-7 fix)', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('tcp', 'bob');
    a.c2s('from alice', { fp: 'shared' });
    b.c2s('from bob', { fp: 'shared' });
    await a.expect({ type: 4 });
    await b.expect({ type: 4 });
    expect(handlers.c2s.map((p) => p.dataContent).sort()).toEqual(['from alice', 'from bob']);
  });

  it('a before-hook veto drops the packet without an ACK', async () => {
    const a = await im.login('tcp', 'alice');
    a.c2s('veto', { fp: 'v-1' });
    await a.expectNothing(200);
    expect(handlers.c2s).toEqual([]);
  });

  it('routes by typeu to the handlers that asked for it', async () => {
    const a = await im.login('tcp', 'alice');
    for (const typeu of [100, 7, 101]) a.c2s(`t${typeu}`, { qos: false, typeu });
    await a.expectNothing(150);
    expect(im.app.get(TypedC2S).seen).toEqual([100, 101]);
    expect(handlers.c2s).toHaveLength(3);
  });

  it('refuses QoS without fp with error 422 and keeps the session (QUIRK-8 fix)', async () => {
    const a = await im.login('tcp', 'alice');
    a.send({ type: 2, to: '0', dataContent: 'no fp', QoS: true });
    const err = await a.expect({ type: 52, to: 'alice' });
    expect(JSON.parse(err.dataContent as string).errorCode).toBe(422);
    a.keepalive();
    await a.expect({ type: 51 });
    expect(handlers.c2s).toEqual([]);
  });
});
