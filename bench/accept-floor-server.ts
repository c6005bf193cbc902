/**
 * The floor for the abuse scenario's row 3: a bare `net.Server` with no
 * protocol at all that admits connections as nestjs-im does at its default
 * limits (at most `--per-address` unauthenticated connections per remote
 * address, each closed after `--hold-ms`, every other one destroyed at once)
 * and reads and discards what they send. What its RSS does under the same
 * connection churn is what Node and V8 cost by themselves; the abuse report
 * shows it next to the library's figure.
 *   node --expose-gc dist/bench/accept-floor-server.js [--host 127.0.0.1] [--tcp 0] [--per-address 100] [--hold-ms 5000] [--lifetime S]
 */
import * as net from 'net';
import { Args } from './lib/args';

const args = new Args(process.argv.slice(2));
const perAddressCap = args.num('per-address', 100);
const holdMs = args.num('hold-ms', 5000);
const perAddress = new Map<string, number>();

const server = net.createServer((socket) => {
  const address = socket.remoteAddress ?? '';
  const held = perAddress.get(address) ?? 0;
  if (held >= perAddressCap) return void socket.destroy();
  perAddress.set(address, held + 1);
  const timer = setTimeout(() => socket.destroy(), holdMs);
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    clearTimeout(timer);
    const n = (perAddress.get(address) ?? 1) - 1;
    if (n <= 0) perAddress.delete(address);
    else perAddress.set(address, n);
  });
});

// The orchestrator asks for a full GC before it reads the start and end RSS, as it does of bench/server.ts (GET /gc).
process.on('message', (m: { kind?: string }) => {
  if (m?.kind !== 'gc') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ kind: 'gc-result', data: { heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024) } });
});

server.listen(args.num('tcp', 0), args.str('host', '127.0.0.1'), () => {
  const { port } = server.address() as net.AddressInfo;
  process.send?.({ kind: 'ready', data: { pid: process.pid, tcp: port } });
});
setTimeout(() => process.exit(0), args.num('lifetime', 600) * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
