/**
 * Cost of the Prometheus metrics on the core's C2C + ACK path, without sockets:
 * `IMCore.receive` with in-memory connections, metrics off and on, each in its
 * own process (so neither shapes the other's JIT), alternated, best run kept.
 *
 *   node dist/bench/metrics-overhead.js [--messages 50000] [--rounds 3]
 *
 * A few seconds of one core; the socket work of a real server comes on top of
 * both figures. `npm run bench` measures the whole server.
 */
import { execFileSync } from 'child_process';
import { Registry } from 'prom-client';
import { IMConnection, TransportKind } from '../lib/core/connection';
import { IMCore } from '../lib/core/im-core';
import { resolveOptions } from '../lib/im-options';
import { PrometheusIMMetrics } from '../lib/metrics/prometheus-metrics';
import { ManualClock } from '../lib/testing/manual-clock';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** ns per C2C message and its ACK through one core. */
function measure(withMetrics: boolean, messages: number): number {
  const core = new IMCore(resolveOptions({ clock: new ManualClock(), limits: { packetsPerSecond: 1e9, burst: 1e9, controlPacketsPerSecond: 1e9, controlBurst: 1e9 } }));
  if (withMetrics) {
    const sink = new PrometheusIMMetrics(core, { registry: new Registry() });
    sink.register();
    core.metrics = sink;
  }
  core.setHooks({ verifyLogin: () => 0 });
  const connection = (transport: TransportKind): IMConnection => ({
    transport, remoteAddress: '127.0.0.1', remotePort: 1, connectionless: false, maxOutboundBytes: 65536,
    idleTimeoutMs: 1e12, write: () => true, close: () => undefined, pause: () => undefined, resume: () => undefined, congested: false,
  });
  const alice = core.openSession(connection('tcp'));
  const bob = core.openSession(connection('ws'));
  for (const [s, user] of [[alice, 'alice'], [bob, 'bob']] as const) {
    core.receive(s, JSON.stringify({ type: 0, dataContent: JSON.stringify({ loginUserId: user, loginToken: 'x' }) }));
  }
  const body = 'x'.repeat(100);
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    const fp = `fp${i}`;
    core.receive(alice, `{"bridge":false,"type":2,"dataContent":"${body}","from":"alice","to":"bob","fp":"${fp}","QoS":true,"typeu":-1}`);
    core.receive(bob, `{"type":4,"dataContent":"${fp}","from":"bob","to":"alice"}`);
  }
  return Number(process.hrtime.bigint() - start) / messages;
}

const messages = arg('messages', 50_000);
const mode = process.argv[2];
if (mode === 'off' || mode === 'on') {
  measure(mode === 'on', messages); // warm-up
  const runs = Array.from({ length: 10 }, () => measure(mode === 'on', messages));
  process.stdout.write(String(Math.min(...runs)));
} else {
  const best = { off: Infinity, on: Infinity };
  for (let round = 0; round < arg('rounds', 3); round++) {
    for (const m of ['off', 'on'] as const) {
      const ns = Number(execFileSync(process.execPath, [__filename, m, '--messages', String(messages)]).toString());
      best[m] = Math.min(best[m], ns);
    }
  }
  console.log(`C2C + ACK through IMCore: metrics off ${best.off.toFixed(0)} ns, on ${best.on.toFixed(0)} ns (${((best.on / best.off - 1) * 100).toFixed(1)}%)`);
}
