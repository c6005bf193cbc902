/**
 * Lets a Node process exit while only client timers are pending: the socket,
 * not a keepalive or a QoS check, is what should keep a process alive.
 * Browser timer ids are numbers without `unref`, so the call is optional.
 */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
