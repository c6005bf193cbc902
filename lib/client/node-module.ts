/**
 * Loads a Node.js module only when a Node-only link is opened. The id is not a
 * literal on purpose: a browser bundler then has no static `require('net')` to
 * resolve, so importing `nestjs-im/client` in a browser never fails at build
 * time. Built-ins come from `process.getBuiltinModule` when Node has it.
 */
export function loadNodeModule<T>(id: string): T {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const builtin = proc?.getBuiltinModule?.(id);
  if (builtin !== undefined) return builtin as T;
  if (typeof require !== 'function') throw new Error(`"${id}" is only available in Node.js`);
  return require(id) as T;
}

/** True when running under Node.js (not a browser or a worker). */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}
