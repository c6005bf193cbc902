import { readdirSync, readFileSync } from 'fs';

/**
 * The process's soft open-file limit, from `/proc/self/limits` (Linux), or
 * undefined where it cannot be read. Node has no API for RLIMIT_NOFILE.
 */
export function readOpenFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const n = Number(soft);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** File descriptors the process holds now (Linux), or 0 where it cannot be read. */
export function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
