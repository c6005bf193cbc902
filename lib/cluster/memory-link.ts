import type { ClusterLink, ClusterLinkEvents } from './cluster-link';
import { MemoryClusterHub, MemoryPresence } from './memory-presence';

/**
 * The in-memory twin of `RedisClusterLink`: presence and the node's channel on a
 * {@link MemoryClusterHub} shared by the nodes of one process. Never disconnected: it is ready
 * from `open` to `close`.
 */
export class MemoryClusterLink implements ClusterLink {
  readonly presence: MemoryPresence;
  private unsubscribe?: () => void;
  private open_ = false;

  constructor(
    private readonly hub: MemoryClusterHub,
    private readonly nodeId: string,
  ) {
    this.presence = new MemoryPresence(hub, nodeId);
  }

  get ready(): boolean {
    return this.open_;
  }

  open(events: ClusterLinkEvents): void {
    this.unsubscribe = this.hub.subscribe(this.nodeId, (text) => events.message(text));
    this.open_ = true;
    // On a later turn, as a connection would be: the node finishes starting before it joins.
    setImmediate(() => this.open_ && events.joinable());
  }

  async publish(nodeId: string, text: string): Promise<number> {
    return this.hub.publish(nodeId, text);
  }

  async ping(): Promise<boolean> {
    return this.open_;
  }

  async close(): Promise<void> {
    this.open_ = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
