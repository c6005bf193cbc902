import { execFileSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';

let clockTicks: number | undefined;

/** `getconf CLK_TCK`: the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (user + system) a process has used, in µs; undefined if it cannot be read. */
export function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) + stime (15)
    return (ticks * 1e6) / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in KB (VmRSS), or undefined. */
export function processRssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** File descriptors a process has open (entries of /proc/<pid>/fd), or undefined. */
export function processOpenFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** A CPU-time reading pinned to wall time, for "CPU per message" and "CPU %". */
export interface CpuSample {
  cpuUs: number;
  wallMs: number;
}

export function sampleCpu(pid: number | undefined): CpuSample | undefined {
  if (pid === undefined) return undefined;
  const cpuUs = processCpuUs(pid);
  return cpuUs === undefined ? undefined : { cpuUs, wallMs: performance.now() };
}

/** CPU used between two samples: µs and share of one core. */
export function cpuBetween(a?: CpuSample, b?: CpuSample): { us: number; share: number } | undefined {
  if (!a || !b) return undefined;
  const us = b.cpuUs - a.cpuUs;
  return { us, share: us / 1000 / (b.wallMs - a.wallMs) };
}

/** Busy CPU time of the whole machine (all cores, /proc/stat), in µs, pinned to wall time. */
export function sampleMachineCpu(): CpuSample | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const t = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all - idle - iowait.
    const busy = t.slice(0, 8).reduce((a, b) => a + b, 0) - t[3] - t[4];
    return { cpuUs: (busy * 1e6) / clockTicksPerSecond(), wallMs: performance.now() };
  } catch {
    return undefined;
  }
}

/** Machine-wide UDP datagrams dropped because a socket's receive buffer was full (/proc/net/snmp). */
export function udpReceiveBufferErrors(): number | undefined {
  return kernelCounter('/proc/net/snmp', 'Udp:', 'RcvbufErrors');
}

/**
 * Machine-wide connections the kernel dropped because a listen socket's accept queue was full
 * (TcpExt ListenOverflows, /proc/net/netstat): their clients retransmit the SYN after 1 s, 3 s...
 */
export function listenOverflows(): number | undefined {
  return kernelCounter('/proc/net/netstat', 'TcpExt:', 'ListenOverflows');
}

/** A counter of /proc/net/snmp or /proc/net/netstat: a header line of names, then one of values, both starting with `prefix`. */
function kernelCounter(file: string, prefix: string, name: string): number | undefined {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(prefix));
    const v = Number(lines[1].split(/\s+/)[lines[0].split(/\s+/).indexOf(name)]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Datagrams dropped so far by UDP sockets (the `drops` column of /proc/net/udp):
 * the socket bound to `serverPort`, and the sockets connected to it (the clients).
 */
export function udpSocketDrops(serverPort: number): { server: number; clients: number } | undefined {
  try {
    const port = (addr: string) => parseInt(addr.split(':')[1], 16);
    let server = 0;
    let clients = 0;
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const drops = Number(f[f.length - 1]);
      if (port(f[1]) === serverPort) server += drops;
      else if (port(f[2]) === serverPort) clients += drops;
    }
    return { server, clients };
  } catch {
    return undefined;
  }
}
