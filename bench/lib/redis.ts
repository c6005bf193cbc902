import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';

/** A throw-away redis-server for a bench run (the multi-worker server's cluster). */
export interface BenchRedis {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` (or `REDIS_SERVER_BIN`) on 127.0.0.1, on a free port in
 * 20000-32767 (never 6379), persistence off, in a temporary directory; waits for PING.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const dir = mkdtempSync(path.join(tmpdir(), 'im-bench-redis-'));
    const child = spawn(process.env.REDIS_SERVER_BIN ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    };
    child.once('error', () => undefined);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answeredBy(port, child.pid)) return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop(); // the port was taken, or redis-server is missing: try again, then give up
  }
  throw new Error('could not start redis-server (is it installed? apt-get install redis-server)');
}

/** PONG from our own child (INFO's process_id), not from another server that had the port. */
function answeredBy(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (!reply.startsWith('+PONG')) return done(false);
      const m = /process_id:(\d+)/.exec(reply);
      if (m) done(Number(m[1]) === pid);
    });
  });
}
