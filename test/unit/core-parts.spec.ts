import * as fs from 'fs';
import * as path from 'path';
import { IMCoreHooks } from '../../lib/core/core-hooks';
import { IMCore } from '../../lib/core/im-core';
import { Session } from '../../lib/core/session';
import { resolveOptions } from '../../lib/im-options';
import { encodePacket } from '../../lib/protocol/packet-codec';
import { PacketType } from '../../lib/protocol/packet-type';
import { ackFor, dataPacket, loginPacket } from '../../lib/protocol/payloads';
import { ManualClock, until } from '../../lib/testing';
import { FakeConnection } from '../fuzz/core-harness';

/**
 * The core split by concern (issue 10, item 5) behind the IMCore façade: the
 * parts stay small, and the per-message path through them stays synchronous
 * when the application's hooks are (no microtask hop for a local QoS C2C).
 */
describe('IMCore parts', () => {
  /** Alice (TCP) and Bob (WebSocket) logged in, their (empty) stored backlogs written: live packets are no longer held. */
  async function twoUsers(hooks: IMCoreHooks): Promise<{ core: IMCore; alice: Session; bob: Session; toAlice: FakeConnection; toBob: FakeConnection }> {
    const core = new IMCore(resolveOptions({ clock: new ManualClock(1_000_000) }));
    core.setHooks({ verifyLogin: () => 0, ...hooks });
    const toAlice = new FakeConnection('tcp', '127.0.0.1');
    const toBob = new FakeConnection('ws', '127.0.0.2');
    const alice = core.openSession(toAlice);
    const bob = core.openSession(toBob);
    core.receive(alice, encodePacket(loginPacket({ loginUserId: 'alice', loginToken: 't', firstLoginTime: 0 })));
    core.receive(bob, encodePacket(loginPacket({ loginUserId: 'bob', loginToken: 't', firstLoginTime: 0 })));
    await until(() => alice.held === null && bob.held === null);
    return { core, alice, bob, toAlice, toBob };
  }

  const c2c = (fp: string, text: string) => encodePacket(dataPacket('alice', 'bob', text, { qos: true, typeu: -1, fp }));

  it('routes a QoS C2C between two local users, ACKs the sender and settles on the recipient ACK within the receive() calls', async () => {
    const delivered: string[] = [];
    const { core, alice, bob, toAlice, toBob } = await twoUsers({ c2c: () => true, messageDelivered: (fp) => void delivered.push(fp) });
    expect(core.online.size).toBe(2);

    core.receive(alice, c2c('fp-1', 'hello'));
    // No await between receive() and these checks: a synchronous handler costs no microtask hop.
    const forwarded = toBob.received.filter((p) => p.type === PacketType.DATA);
    expect(forwarded).toEqual([expect.objectContaining({ from: 'alice', to: 'bob', fp: 'fp-1', dataContent: 'hello', QoS: true })]);
    expect(toAlice.received.filter((p) => p.type === PacketType.ACK)).toEqual([expect.objectContaining({ dataContent: 'fp-1', from: 'bob', to: 'alice' })]);
    expect(core.pendingQoS).toBe(1);

    core.receive(bob, encodePacket(ackFor(forwarded[0])));
    expect(core.pendingQoS).toBe(0);
    expect(core.stats.delivered).toBe(1);
    expect(delivered).toEqual(['fp-1']);
  });

  it('holds a session behind an asynchronous C2C handler and processes its later packets in order once it settles', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { core, alice, toBob } = await twoUsers({ c2c: (p) => (p.fp === 'fp-1' ? gate.then(() => true) : true) });

    core.receive(alice, c2c('fp-1', 'first'));
    core.receive(alice, c2c('fp-2', 'second'));
    expect(toBob.received.filter((p) => p.type === PacketType.DATA)).toEqual([]);
    expect(alice.busy).toBe(true);

    release();
    await until(() => toBob.received.filter((p) => p.type === PacketType.DATA).length === 2);
    expect(toBob.received.filter((p) => p.type === PacketType.DATA).map((p) => p.dataContent)).toEqual(['first', 'second']);
    expect(alice.busy).toBe(false);
    expect(core.pendingQoS).toBe(2);
  });

  it('keeps every file of lib/core small enough to read at once (the split must not grow back into one class)', () => {
    const dir = path.resolve(__dirname, '../../lib/core');
    const long = fs.readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ file: f, lines: fs.readFileSync(path.join(dir, f), 'utf8').split('\n').length }))
      .filter((f) => f.lines > 350);
    expect(long).toEqual([]);
  });
});
