import { Logger } from '@nestjs/common';
import { IMCore } from '../../lib/core/im-core';
import { LogThrottle } from '../../lib/core/log-throttle';
import {
  decodeBridgeMessage, DEFAULT_BRIDGE_QUEUES, encodeBridgeMessage, IMBridge, resolveBridgeOptions, withHeartbeat,
} from '../../lib/bridge';
import { resolveOptions } from '../../lib/im-options';
import { Packet } from '../../lib/protocol/packet';
import { configFromEnv } from '../../sample-app/app.config';

const URL = 'amqp://127.0.0.1:1';

// The bridge logs what these tests provoke (a forged sender, a broker that is down): keep the output clean.
beforeAll(() => {
  for (const level of ['log', 'warn', 'error'] as const) jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
});
afterAll(() => jest.restoreAllMocks());

describe('bridge options', () => {
  it('gives the app side the reference own queues: publish q_app2web, consume q_web2app', () => {
    const o = resolveBridgeOptions({ url: URL, side: 'app' });
    expect([o.publishQueue, o.consumeQueue]).toEqual(['q_app2web', 'q_web2app']);
    expect(DEFAULT_BRIDGE_QUEUES).toEqual({ app2web: 'q_app2web', web2app: 'q_web2app' });
  });

  it('gives the web side the mirror, with custom names and defaults', () => {
    const o = resolveBridgeOptions({ url: URL, side: 'web', app2webQueue: 'a2w', web2appQueue: 'w2a' });
    expect(o).toEqual({
      url: URL, side: 'web', publishQueue: 'w2a', consumeQueue: 'a2w',
      reconnectDelayMs: 5000, confirmTimeoutMs: 5000, prefetch: 100, maxMessageBytes: 65536,
    });
  });

  it('refuses an unknown side, a missing URL and non-positive limits', () => {
    expect(() => resolveBridgeOptions({ url: URL, side: 'both' as 'app' })).toThrow(/side/);
    expect(() => resolveBridgeOptions({ url: '', side: 'app' })).toThrow(/url/);
    expect(() => resolveBridgeOptions({ url: URL, side: 'app', prefetch: 0 })).toThrow(/prefetch/);
    expect(() => resolveBridgeOptions({ url: URL, side: 'app', confirmTimeoutMs: Number.NaN })).toThrow(/confirmTimeoutMs/);
  });

  it('asks for the reference heartbeat of 30 s unless the URL sets one', () => {
    expect(withHeartbeat('amqp://u:p@rabbit:5672/%2Fim')).toBe('amqp://u:p@rabbit:5672/%2Fim?heartbeat=30');
    expect(withHeartbeat('amqps://rabbit?heartbeat=5&frameMax=0')).toBe('amqps://rabbit?heartbeat=5&frameMax=0');
  });

  it('is off unless configured', () => {
    expect(resolveOptions({}).bridge).toBeUndefined();
    expect(resolveOptions({ bridge: { url: URL, side: 'web' } }).bridge?.consumeQueue).toBe('q_app2web');
  });
});

describe('sample app bridge settings', () => {
  it('joins a bridge with IM_BRIDGE_URL and IM_BRIDGE_SIDE, and none without them', () => {
    expect(configFromEnv({ IM_BRIDGE_URL: ' amqp://rabbit ', IM_BRIDGE_SIDE: 'web' }).bridge).toEqual({ url: 'amqp://rabbit', side: 'web' });
    expect(configFromEnv({}).bridge).toBeUndefined();
  });

  it('refuses half a setting or an unknown side', () => {
    expect(() => configFromEnv({ IM_BRIDGE_SIDE: 'app' })).toThrow(/IM_BRIDGE_URL/);
    expect(() => configFromEnv({ IM_BRIDGE_URL: 'amqp://rabbit' })).toThrow(/IM_BRIDGE_SIDE/);
    expect(() => configFromEnv({ IM_BRIDGE_URL: 'amqp://rabbit', IM_BRIDGE_SIDE: 'java' })).toThrow(/IM_BRIDGE_SIDE/);
  });
});

describe('bridge messages', () => {
  const decode = (text: string | Buffer, max = 65536, lenient = true) =>
    decodeBridgeMessage(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, max, lenient);

  it('reads the reference message and marks it QoS and bridged, as BridgeProcessor.work does', () => {
    const r = decode('{"bridge":false,"type":2,"dataContent":"\\u003chi\\u003e","from":"w1","to":"a1","fp":"f","QoS":false,"typeu":3,"sm":-1}');
    expect(r).toEqual({ ok: true, packet: { bridge: true, type: 2, dataContent: '<hi>', from: 'w1', to: 'a1', fp: 'f', QoS: true, typeu: 3, sm: -1 } });
  });

  it('accepts the far server own pushes (from "0")', () => {
    expect(decode('{"type":2,"from":"0","to":"a1","fp":"f"}').ok).toBe(true);
  });

  it.each([
    ['not JSON', 'hello', 'IM_BAD_JSON'],
    ['an array', '[1]', 'IM_BAD_JSON'],
    ['a field of the wrong type', '{"type":2.5,"from":"w","to":"a","fp":"f"}', 'IM_BAD_FIELD'],
    ['not a data packet', '{"type":0,"from":"w","to":"a","fp":"f"}', 'IM_BAD_FIELD'],
    ['no sender', '{"type":2,"to":"a","fp":"f"}', 'IM_BAD_FIELD'],
    ['addressed to the server', '{"type":2,"from":"w","to":"0","fp":"f"}', 'IM_BAD_FIELD'],
    ['addressed to "-1"', '{"type":2,"from":"w","to":"-1","fp":"f"}', 'IM_BAD_FIELD'],
    ['without fp', '{"type":2,"from":"w","to":"a"}', 'IM_MISSING_FINGERPRINT'],
  ])('reports %s as poison', (_what, text, id) => {
    const r = decode(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.id).toBe(id);
  });

  it('reports invalid UTF-8 and oversize messages as poison', () => {
    const bad = decode(Buffer.from([0x7b, 0xff, 0x7d]));
    expect(!bad.ok && bad.detail).toBe('not UTF-8');
    const big = decode('{"type":2,"from":"w","to":"a","fp":"f"}', 10);
    expect(!big.ok && big.error.id).toBe('IM_FRAME_TOO_LARGE');
  });

  it('applies the lenient JSON option', () => {
    expect(decode("{type:2,from:'w',to:'a',fp:'f'}", 65536, true).ok).toBe(true);
    expect(decode("{type:2,from:'w',to:'a',fp:'f'}", 65536, false).ok).toBe(false);
  });

  it('writes the packet in the reference key order as UTF-8', () => {
    const p: Packet = { bridge: false, type: 2, dataContent: 'é', from: 'a', to: 'w', fp: 'f', QoS: true, typeu: -1, sm: -1 };
    expect(encodeBridgeMessage(p).toString('utf8')).toBe('{"bridge":false,"type":2,"dataContent":"é","from":"a","to":"w","fp":"f","QoS":true,"typeu":-1,"sm":-1}');
  });
});

describe('LogThrottle', () => {
  it('lets one line through per interval and reports how many it held back', () => {
    const t = new LogThrottle(1000);
    expect(t.next('a', 0)).toBe('a');
    expect(t.next('b', 500)).toBeUndefined();
    expect(t.next('c', 999)).toBeUndefined();
    expect(t.next('d', 1000)).toBe('d (and 2 more since the last report)');
    expect(t.next('e', 2500)).toBe('e');
  });
});

describe('IMBridge without a broker', () => {
  const options = resolveOptions({ bridge: { url: URL, side: 'app' } });
  const make = () => {
    const core = new IMCore(options);
    return { core, bridge: new IMBridge(core, options.bridge!, { lenientJson: true, dedup: { ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20, maxEntriesPerUser: 100 } }) };
  };
  const packet = (from: string, fp = 'f1'): Packet => ({ bridge: false, type: 2, dataContent: 'x', from, to: 'w', fp, QoS: true, typeu: -1, sm: -1 });

  it('never forwards a packet whose sender is not the session user', async () => {
    const { core, bridge } = make();
    expect(await bridge.forwardC2C(packet('mallory'), 'alice')).toBe(false);
    expect(core.stats.forgedSender).toBe(1);
    expect(core.stats.bridgePublishFailed).toBe(0);
  });

  it('fails a publish while disconnected, and does not take the retransmission for a duplicate', async () => {
    const { core, bridge } = make();
    expect(bridge.connected).toBe(false);
    expect(await bridge.forwardC2C(packet('alice'), 'alice')).toBe(false);
    expect(await bridge.forwardC2C(packet('alice'), 'alice')).toBe(false);
    expect(await bridge.push(packet('0', 'p1'))).toBe(false);
    expect(core.stats.bridgePublishFailed).toBe(3);
    expect(core.stats.bridgeDuplicates).toBe(0);
  });
});
