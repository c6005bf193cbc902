/** A node of a {@link LinkedQueue}; the queue owns the links. */
export interface QueueNode {
  prev: QueueNode | null;
  next: QueueNode | null;
}

/**
 * An intrusive doubly-linked FIFO: O(1) push, remove, move-to-back and pop of
 * the oldest. The QoS tables use it for their age order instead of iterating a
 * Map from the front, which V8 makes O(deleted entries) once many are deleted.
 */
export class LinkedQueue<N extends QueueNode> {
  private head: N | null = null;
  private tail: N | null = null;

  /** The oldest node. */
  get first(): N | null {
    return this.head;
  }

  push(node: N): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  remove(node: N): void {
    if (node.prev) node.prev.next = node.next;
    else if (this.head === node) this.head = node.next as N | null;
    else return;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev as N | null;
    node.prev = node.next = null;
  }

  /** Moves a node to the back (most recent). */
  touch(node: N): void {
    if (this.tail === node) return;
    this.remove(node);
    this.push(node);
  }

  clear(): void {
    this.head = this.tail = null;
  }
}
