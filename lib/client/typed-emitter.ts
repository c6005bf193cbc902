/** Listener signatures by event name. */
export type EventMap<E> = { [K in keyof E]: (...args: any[]) => void };

interface Entry {
  fn: (...args: any[]) => void;
  once: boolean;
}

/**
 * A minimal typed event emitter. Written here rather than using Node's
 * `events` so browser bundles need no polyfill, and so that an `'error'`
 * event without listeners is not thrown (server errors are ordinary events).
 * A throwing listener cannot break packet processing: its error is rethrown
 * asynchronously.
 */
export class TypedEmitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Entry[]>();

  /** Adds a listener. */
  on<K extends keyof E>(event: K, listener: E[K]): this {
    return this.add(event, listener, false);
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof E>(event: K, listener: E[K]): this {
    return this.add(event, listener, true);
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof E>(event: K, listener: E[K]): this {
    const list = this.listeners.get(event);
    const i = list ? list.findIndex((e) => e.fn === listener) : -1;
    if (list && i >= 0) list.splice(i, 1);
    return this;
  }

  /** Number of listeners of `event`. */
  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners of `event` in order; returns whether there were any. */
  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const entry of [...list]) {
      if (entry.once) this.off(event, entry.fn as E[K]);
      try {
        entry.fn(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return true;
  }

  private add<K extends keyof E>(event: K, fn: E[K], once: boolean): this {
    let list = this.listeners.get(event);
    if (!list) this.listeners.set(event, (list = []));
    list.push({ fn, once });
    return this;
  }
}
