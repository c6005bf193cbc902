/**
 * A bare relay: the ceiling a Node server reaches on this machine. It parses
 * TCP frames just enough to route by `to`, forwards the frame as it came,
 * answers login, keepalive, echo and the sender's ACK, and has no other
 * protocol logic (no validation, QoS table, limits or hooks).
 *   node dist/bench/relay-server.js [--host 127.0.0.1] [--tcp 8901] [--lifetime 3600]
 */
import * as net from 'net';
import { Args } from './lib/args';
import { READY_MARKER } from './lib/targets';

const args = new Args(process.argv.slice(2));
const key = (s: string) => Buffer.from(s);
const TYPE = key('"type":'), TO = key('"to":"'), FROM = key('"from":"'), FP = key('"fp":"'), QOS = key('"QoS":true');
const LOGIN_ID = key('loginUserId\\":\\"');
const users = new Map<string, (frame: Buffer) => void>();

/** The string after `k`, up to the byte `stop` (a quote, or the backslash of an escaped quote). */
const after = (b: Buffer, k: Buffer, stop = 0x22) => {
  const i = b.indexOf(k);
  return i < 0 ? '' : b.toString('latin1', i + k.length, b.indexOf(stop, i + k.length));
};
const frame = (body: string | Buffer) => {
  const b = Buffer.allocUnsafe(4 + Buffer.byteLength(body));
  b.writeUInt32BE(b.length - 4, 0);
  if (typeof body === 'string') b.write(body, 4);
  else body.copy(b, 4);
  return b;
};
const server = (type: number, to: string, data: string, from = '0') =>
  frame(`{"bridge":false,"type":${type},"dataContent":${JSON.stringify(data)},"from":"${from}","to":"${to}","QoS":false,"typeu":-1,"sm":-1}`);

const relay = net.createServer((socket) => {
  socket.setNoDelay(true);
  let corked = false;
  let pending: Buffer | null = null;
  let user = '';
  const send = (f: Buffer) => {
    if (!corked) (corked = true), socket.cork(), process.nextTick(() => ((corked = false), socket.uncork()));
    socket.write(f);
  };
  const onFrame = (f: Buffer) => {
    const b = f.subarray(4);
    const t = b.indexOf(TYPE) + TYPE.length;
    const type = b[t] - 48, to = after(b, TO);
    if (type === 0) users.set((user = after(b, LOGIN_ID, 0x5c)), send), send(server(50, user, `{"code":0,"firstLoginTime":${Date.now()}}`));
    else if (type === 1) send(server(51, user, '{}'));
    else if (type === 5) send(frame(Buffer.concat([b.subarray(0, t), key('53'), b.subarray(t + 1)])));
    else if (type === 2) {
      if (to !== '0') users.get(to)?.(f);
      if (b.includes(QOS)) send(server(4, after(b, FROM), after(b, FP), to));
    }
  };
  socket.on('data', (chunk: Buffer) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4 && buf.length - off >= 4 + buf.readUInt32BE(off)) {
      const end = off + 4 + buf.readUInt32BE(off);
      onFrame(buf.subarray(off, end));
      off = end;
    }
    pending = off < buf.length ? buf.subarray(off) : null;
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => users.get(user) === send && users.delete(user));
});
relay.listen(args.num('tcp', Number(process.env.BENCH_TCP_PORT ?? 8901)), args.str('host', '127.0.0.1'), () => {
  const ready = { pid: process.pid, tcp: (relay.address() as net.AddressInfo).port };
  console.log(`${READY_MARKER} ${JSON.stringify(ready)}`);
  process.send?.({ kind: 'ready', data: ready });
});

setTimeout(() => process.exit(2), args.num('lifetime', 3600) * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
