import * as fc from 'fast-check';
import { PacketType } from '../../lib/protocol/packet-type';
import { CoreHarness, FakeConnection, quietLogger } from './core-harness';
import { anyUtf16, fuzzParams, jsonishText } from './fuzz-params';

/** A datagram as a stranger sends it: any type, any fields, up to the transport's 2 KiB datagram limit. */
const datagram = fc
  .record({
    type: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: -2, max: 60 })),
    dataContent: fc.oneof(
      fc.constant(undefined),
      jsonishText(40),
      anyUtf16(600),
      fc.integer({ min: 500, max: 1900 }).map((n) => 'd'.repeat(n)),
      fc.constant(JSON.stringify({ loginUserId: 'u1', loginToken: 'bad' })),
    ),
    from: fc.option(anyUtf16(300), { nil: undefined }),
    to: fc.option(anyUtf16(300), { nil: undefined }),
    fp: fc.option(anyUtf16(300), { nil: undefined }),
    QoS: fc.boolean(),
  })
  .map((p) => JSON.stringify({ bridge: false, ...p, typeu: -1, sm: -1 }))
  .filter((text) => Buffer.byteLength(text) <= 2048);

const isLoginAccepted = (c: FakeConnection, i: number) => {
  const p = c.received[i];
  return p.type === PacketType.LOGIN_RESPONSE && p.dataContent?.startsWith('{"code":0,');
};

describe('fuzz: no amplification toward UDP peers', () => {
  quietLogger();

  it('a reply to a stranger is never larger than the datagram it answers', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 6, arbitrary: datagram }, { weight: 1, arbitrary: anyUtf16(200) }), { minLength: 1, maxLength: 20 }), (datagrams) => {
        const h = new CoreHarness((token) => (token === 'ok' ? 0 : 1025));
        const ratio = h.options.udp ? h.options.udp.maxReplyRatio : 1;
        const { session, connection } = h.open('udp', '10.1.1.1') as NonNullable<ReturnType<CoreHarness['open']>>;
        for (const text of datagrams) {
          const before = connection.received.length;
          const beforeBytes = connection.receivedBytes.length;
          const stranger = session.userId === null;
          h.receive(session, text);
          if (!stranger) continue;
          for (let i = before; i < connection.received.length; i++) {
            if (isLoginAccepted(connection, i)) continue;
            const bytes = connection.receivedBytes[beforeBytes + (i - before)];
            if (bytes > Buffer.byteLength(text) * ratio) throw new Error(`a ${bytes}-byte reply (type ${connection.received[i].type}) to a ${Buffer.byteLength(text)}-byte datagram`);
          }
        }
        h.shutdown();
      }),
      fuzzParams(300),
    );
  });

  it('no reply to a stranger is larger than the UDP SDKs read (udp.maxOutboundBytes), whatever it sent', () => {
    fc.assert(
      fc.property(fc.array(datagram, { minLength: 1, maxLength: 20 }), (datagrams) => {
        const h = new CoreHarness((token) => (token === 'ok' ? 0 : 1025));
        const limit = h.options.udp ? h.options.udp.maxOutboundBytes : Infinity;
        const { session, connection } = h.open('udp', '10.1.1.2') as NonNullable<ReturnType<CoreHarness['open']>>;
        for (const text of datagrams) {
          if (session.userId !== null) break;
          h.receive(session, text);
        }
        const largest = Math.max(0, ...connection.receivedBytes);
        if (largest > limit) throw new Error(`a ${largest}-byte reply over UDP (limit ${limit})`);
        h.shutdown();
      }),
      fuzzParams(300),
    );
  });
});
