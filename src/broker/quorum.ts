// Quorum queues as a single node runs them: every message is stored (the Raft log keeps transient
// ones too), returns are counted in x-delivery-count, and past x-delivery-limit a message is
// dead-lettered instead of requeued.
import type { QueueType } from './arguments.js';
import { withHeader, type Message, type QueuedMessage } from './message.js';
import { Queue } from './queue.js';

export class QuorumQueue extends Queue {
  override readonly type: QueueType = 'quorum';

  protected override get storesTransient(): boolean {
    return true;
  }

  override outgoing(entry: QueuedMessage): Message {
    return withHeader(entry.message, 'x-delivery-count', { type: 'l', value: entry.deliveryCount });
  }

  protected override requeue(entries: QueuedMessage[]): void {
    for (const e of entries) e.deliveryCount++;
    const limit = this.limits.deliveryLimit;
    if (limit !== undefined) {
      for (const e of entries) if (e.deliveryCount > limit) this.drop(e, 'delivery_limit');
      entries = entries.filter((e) => e.deliveryCount <= limit);
    }
    super.requeue(entries);
  }
}
