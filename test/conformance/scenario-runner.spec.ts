/**
 * Self-test of the runner's transports and step semantics against a tiny
 * scripted fake server (no nestjs-im involved). The fake server reads one
 * JSON packet per frame/message/datagram of the form
 *   {"cmd":[{"send":"<text>","after":ms}, {"close":code}, {"echoBytes":true}]}
 * and executes the commands in order.
 */
import * as dgram from 'dgram';
import * as net from 'net';
import { AddressInfo } from 'net';
import { WebSocketServer, WebSocket } from 'ws';
import { runScenario, Scenario, ScenarioFailure, Step, ServerAddress } from './scenario-runner';

type Command = { send?: string; after?: number; close?: number; echoBytes?: boolean };

interface Reply {
  send(text: string): void;
  close(code?: number): void;
}

function execute(body: Buffer, reply: Reply): void {
  let cmds: Command[];
  try {
    cmds = (JSON.parse(body.toString('utf8')) as { cmd: Command[] }).cmd;
  } catch {
    reply.send(JSON.stringify({ unparsable: body.length }));
    return;
  }
  let t = 0;
  for (const c of cmds) {
    t += c.after ?? 0;
    setTimeout(() => {
      if (c.echoBytes) reply.send(JSON.stringify({ bytes: body.length }));
      if (c.send !== undefined) reply.send(c.send);
      if (c.close !== undefined) reply.close(c.close);
    }, t);
  }
}

class FakeServer {
  private tcp = net.createServer();
  private udp = dgram.createSocket('udp4');
  private wss?: WebSocketServer;
  private sockets = new Set<net.Socket>();
  address!: ServerAddress;

  async start(): Promise<void> {
    this.tcp.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const body = buf.subarray(4, 4 + buf.readUInt32BE(0));
          buf = buf.subarray(4 + body.length);
          execute(body, {
            send: (text) => {
              const b = Buffer.from(text);
              const h = Buffer.alloc(4);
              h.writeUInt32BE(b.length);
              if (!socket.destroyed) socket.write(Buffer.concat([h, b]));
            },
            close: () => socket.end(),
          });
        }
      });
    });
    await new Promise<void>((r) => this.tcp.listen(0, '127.0.0.1', r));
    this.udp.on('message', (msg, rinfo) =>
      execute(msg, { send: (text) => this.udp.send(Buffer.from(text), rinfo.port, rinfo.address), close: () => undefined }),
    );
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', r));
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/websocket' });
    await new Promise<void>((r) => this.wss!.on('listening', r));
    this.wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data: Buffer) =>
        execute(data, { send: (text) => ws.readyState === ws.OPEN && ws.send(text), close: (code) => ws.close(code ?? 1000, 'Bye') }),
      );
    });
    this.address = {
      host: '127.0.0.1',
      ports: {
        tcp: (this.tcp.address() as AddressInfo).port,
        udp: this.udp.address().port,
        ws: (this.wss.address() as AddressInfo).port,
      },
    };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const c of this.wss?.clients ?? []) c.terminate();
    await new Promise<void>((r) => this.tcp.close(() => r()));
    await new Promise<void>((r) => this.wss!.close(() => r()));
    await new Promise<void>((r) => this.udp.close(() => r()));
  }
}

const server = new FakeServer();
beforeAll(() => server.start());
afterAll(() => server.stop());

function scenario(steps: Step[]): Scenario {
  return { name: 'self-test', tags: [], steps };
}

function cmd(...commands: Command[]): { cmd: Command[] } {
  return { cmd: commands };
}

async function failureOf(steps: Step[]): Promise<ScenarioFailure> {
  try {
    await runScenario(scenario(steps), { ...server.address, overrides: { finalWaitMs: 50 } });
  } catch (err) {
    if (err instanceof ScenarioFailure) return err;
    throw err;
  }
  throw new Error('the scenario passed, a failure was expected');
}

const pkt = (o: object) => JSON.stringify(o);

describe.each(['tcp', 'ws', 'udp'] as const)('runner over %s', (transport) => {
  it('sends, matches, captures and reuses values, and passes the final check', async () => {
    await runScenario(
      scenario([
        { client: 'A', transport, action: 'connect' },
        { client: 'A', action: 'send', packet: cmd({ send: pkt({ type: 50, to: 'g-fixed1-a', t: 1234 }) }) as never },
        { client: 'A', action: 'expect', packet: { type: 50, to: '{{uid:A}}', t: '<capture:T>' }, withinMs: 1000 },
        { client: 'A', action: 'send', packet: { cmd: [{ send: { $stringify: { t: '{{var:T}}', u: 'x{{var:T}}' } } }] } as never },
        { client: 'A', action: 'expect', packet: { t: '{{var:T}}', u: 'x1234' }, withinMs: 1000, keyOrder: ['t', 'u'] },
        { client: 'A', action: 'expectNothing', forMs: 100 },
        { client: 'A', action: 'expectOpen' },
      ]),
      { ...server.address, overrides: { suffix: 'fixed1', finalWaitMs: 50 } },
    );
  });

  it('pads sendText to an exact byte length', async () => {
    await runScenario(
      scenario([
        { client: 'A', transport, action: 'connect' },
        { client: 'A', action: 'sendText', text: '{"cmd":[{"echoBytes":true}],"p":"é{{pad}}"}', padToBytes: 1500 },
        { client: 'A', action: 'expect', packet: { bytes: 1500 }, withinMs: 1000 },
      ]),
      { ...server.address, overrides: { finalWaitMs: 50 } },
    );
  });

  it('reports a mismatching packet with step index, expected and received text', async () => {
    const f = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: pkt({ type: 51, to: 'x' }) }) as never },
      { client: 'A', action: 'expect', packet: { type: 52, to: 'x' }, withinMs: 1000 },
    ]);
    expect(f.scenario).toBe('self-test');
    expect(f.stepIndex).toBe(2);
    expect(f.action).toBe('expect');
    expect(f.receivedText).toBe('{"type":51,"to":"x"}');
    expect(f.message).toMatch(/failed at step 2 \(expect, client A\)/);
    expect(f.message).toMatch(/expected:\s+\{"type":52,"to":"x"\}/);
    expect(f.message).toMatch(/mismatch:\s+at \$\.type: expected the number 52, got 51/);
  });

  it('fails the final check on an unconsumed packet', async () => {
    const f = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}' }, { send: '{"b":2}' }) as never },
      { client: 'A', action: 'expect', packet: { a: 1 }, withinMs: 1000 },
    ]);
    expect(f.stepIndex).toBe(3);
    expect(f.action).toBe('final check');
    expect(f.receivedText).toBe('{"b":2}');
  });

  it('expect times out, and rejects packets outside notBeforeMs / sinceMark windows', async () => {
    const late = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}', after: 400 }) as never },
      { client: 'A', action: 'expect', packet: { a: 1 }, withinMs: 150 },
    ]);
    expect(late.message).toMatch(/no packet within 150 ms of the step start/);

    const early = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}', after: 50 }) as never },
      { client: 'A', action: 'expect', packet: { a: 1 }, withinMs: 1000, notBeforeMs: 300 },
    ]);
    expect(early.message).toMatch(/packet arrived too early/);

    await runScenario(
      scenario([
        { client: 'A', transport, action: 'connect' },
        { action: 'mark', name: 'm' },
        { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}', after: 250 }) as never },
        { action: 'sleep', ms: 100 },
        { client: 'A', action: 'expect', packet: { a: 1 }, withinMs: 1000, notBeforeMs: 200, sinceMark: 'm' },
      ]),
      { ...server.address, overrides: { finalWaitMs: 50 } },
    );

    const afterWindow = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { action: 'mark', name: 'm' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}', after: 150 }) as never },
      { action: 'sleep', ms: 300 },
      { client: 'A', action: 'expect', packet: { a: 1 }, withinMs: 100, sinceMark: 'm' },
    ]);
    expect(afterWindow.message).toMatch(/too late/);
  });

  it('expectNothing fails on a waiting or arriving packet', async () => {
    const waiting = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}' }) as never },
      { action: 'sleep', ms: 100 },
      { client: 'A', action: 'expectNothing', forMs: 100 },
    ]);
    expect(waiting.message).toMatch(/already waiting/);
    const arriving = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"a":1}', after: 100 }) as never },
      { client: 'A', action: 'expectNothing', forMs: 500 },
    ]);
    expect(arriving.stepIndex).toBe(2);
    expect(arriving.receivedText).toBe('{"a":1}');
  });

  it('checks keyOrder on the raw text', async () => {
    const f = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"type":1,"bridge":false}' }) as never },
      { client: 'A', action: 'expect', packet: { bridge: false, type: 1 }, withinMs: 1000, keyOrder: ['bridge', 'type'] },
    ]);
    expect(f.message).toMatch(/wrong key order/);
  });
});

describe.each(['tcp', 'ws'] as const)('connection close over %s', (transport) => {
  it('expectClosed passes on a quiet close, expectOpen then fails', async () => {
    await runScenario(
      scenario([
        { client: 'A', transport, action: 'connect' },
        { client: 'A', action: 'expectOpen' },
        { client: 'A', action: 'send', packet: cmd({ close: 1000 }) as never },
        { client: 'A', action: 'expectClosed', withinMs: 1000, ...(transport === 'ws' ? { wsCloseCode: 1000 } : {}) },
        { client: 'A', action: 'expectNothing', forMs: 50 },
      ]),
      { ...server.address, overrides: { finalWaitMs: 50 } },
    );
    const f = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ close: 1000 }) as never },
      { action: 'sleep', ms: 200 },
      { client: 'A', action: 'expectOpen' },
    ]);
    expect(f.message).toMatch(/expected the connection to be open, but it was closed by the server/);
  });

  it('expectClosed fails when an unconsumed packet came before the close', async () => {
    const f = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ send: '{"kick":1}' }, { close: 1000, after: 20 }) as never },
      { action: 'sleep', ms: 200 },
      { client: 'A', action: 'expectClosed', withinMs: 1000 },
    ]);
    expect(f.receivedText).toBe('{"kick":1}');
    expect(f.message).toMatch(/a packet arrived before the close that no step consumed/);
  });

  it('expectClosed fails when the connection stays open, or closes too early', async () => {
    const open = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'expectClosed', withinMs: 200 },
    ]);
    expect(open.message).toMatch(/not closed within 200 ms/);
    const early = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { action: 'mark', name: 'm' },
      { client: 'A', action: 'send', packet: cmd({ close: 1000, after: 50 }) as never },
      { client: 'A', action: 'expectClosed', withinMs: 1000, notBeforeMs: 300, sinceMark: 'm' },
    ]);
    expect(early.message).toMatch(/closed too early/);
  });

  it('sending on a connection the server closed fails the step', async () => {
    const f = await failureOf([
      { client: 'A', transport, action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ close: 1000 }) as never },
      { client: 'A', action: 'expectClosed', withinMs: 1000 },
      { client: 'A', action: 'send', packet: cmd() as never },
    ]);
    expect(f.stepIndex).toBe(3);
    expect(f.message).toMatch(/cannot send: the connection is already closed/);
  });
});

describe('transport specifics', () => {
  it('checks the WebSocket close code', async () => {
    const f = await failureOf([
      { client: 'A', transport: 'ws', action: 'connect' },
      { client: 'A', action: 'send', packet: cmd({ close: 4000 }) as never },
      { client: 'A', action: 'expectClosed', withinMs: 1000, wsCloseCode: 1000 },
    ]);
    expect(f.message).toMatch(/WebSocket close code 4000 reason "Bye", expected 1000/);
  });

  it('sendRaw writes unframed bytes on TCP (here: a hand-made frame)', async () => {
    const body = Buffer.from(pkt(cmd({ send: '{"raw":true}' })));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    await runScenario(
      scenario([
        { client: 'A', transport: 'tcp', action: 'connect' },
        { client: 'A', action: 'sendRaw', bytesHex: header.toString('hex') },
        { client: 'A', action: 'sendRaw', bytesHex: body.toString('hex') },
        { client: 'A', action: 'expect', packet: { raw: true }, withinMs: 1000 },
      ]),
      { ...server.address, overrides: { finalWaitMs: 50 } },
    );
  });

  it('sendBinary sends a binary WebSocket frame; sendRaw sends one UDP datagram', async () => {
    await runScenario(
      scenario([
        { client: 'W', transport: 'ws', action: 'connect' },
        { client: 'W', action: 'sendBinary', bytesHex: Buffer.from(pkt(cmd({ send: '{"bin":1}' }))).toString('hex') },
        { client: 'W', action: 'expect', packet: { bin: 1 }, withinMs: 1000 },
        { client: 'U', transport: 'udp', action: 'connect' },
        { client: 'U', action: 'sendRaw', bytesHex: Buffer.from(pkt(cmd({ send: '{"dgram":1}' }))).toString('hex') },
        { client: 'U', action: 'expect', packet: { dgram: 1 }, withinMs: 1000 },
      ]),
      { ...server.address, overrides: { finalWaitMs: 50 } },
    );
  });

  it('a ws connect to a path the server does not serve fails within the connect timeout', async () => {
    const f = await failureOf([{ client: 'A', transport: 'ws', action: 'connect', path: '/elsewhere' }]);
    expect(f.stepIndex).toBe(0);
    expect(f.message).toMatch(/ws connect failed/);
  });

  it('a tcp connect to a closed port fails', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(
      runScenario(scenario([{ client: 'A', transport: 'tcp', action: 'connect' }]), { host: '127.0.0.1', ports: { tcp: port, udp: 1, ws: 1 } }),
    ).rejects.toThrow(/tcp connect failed/);
  });

  it('rejects a malformed scenario before running it', async () => {
    await expect(
      runScenario(scenario([{ client: 'A', action: 'expectOpen' }]), server.address),
    ).rejects.toThrow(/used before its connect step/);
  });

  it('uses override steps instead of the scenario steps', async () => {
    await runScenario(scenario([{ client: 'A', action: 'expectOpen' }]), {
      ...server.address,
      overrides: { steps: [{ client: 'A', transport: 'udp', action: 'connect' }], finalWaitMs: 10 },
    });
  });
});
