// A channel's delivery tags: what was delivered and not yet acknowledged, in tag order.
import type { QueuedMessage } from '../broker/message.js';
import type { Queue } from '../broker/queue.js';
import { preconditionFailed } from '../broker/errors.js';

export interface Delivery {
  readonly tag: number;
  readonly queue: Queue;
  readonly entry: QueuedMessage;
  /** The consumer it counts against for prefetch (none for basic.get). */
  readonly consumer: { unacked: number } | undefined;
  /** When it was delivered (ms since the epoch), for the consumer timeout. */
  readonly at: number;
}

export class Deliveries {
  private nextTag = 1;
  /** Unacknowledged deliveries; a Map keeps them in tag order. */
  private readonly unacked = new Map<number, Delivery>();
  /** Unacknowledged consumer deliveries, for a channel-wide (global) prefetch. */
  consumerUnacked = 0;

  get size(): number {
    return this.unacked.size;
  }

  /** The tag for a delivery the client does not acknowledge. */
  untracked(): number {
    return this.nextTag++;
  }

  /** The tag for a new delivery; tracked when the client must acknowledge it. */
  add(queue: Queue, entry: QueuedMessage, consumer: Delivery['consumer'], needsAck: boolean): number {
    const tag = this.nextTag++;
    if (needsAck) {
      this.unacked.set(tag, { tag, queue, entry, consumer, at: Date.now() });
      queue.unacked++;
      if (consumer) {
        consumer.unacked++;
        this.consumerUnacked++;
      }
    }
    return tag;
  }

  /**
   * Removes and returns the deliveries an ack/nack/reject names: one tag, or with `multiple` every tag
   * up to it (tag 0 meaning all). An unknown tag is RabbitMQ's 406.
   */
  take(tag: number, multiple: boolean): Delivery[] {
    if (multiple) {
      const out: Delivery[] = [];
      for (const d of this.unacked.values()) {
        if (tag !== 0 && d.tag > tag) break;
        out.push(d);
      }
      if (out.length === 0 && tag !== 0) throw unknownTag(tag);
      for (const d of out) this.forget(d);
      return out;
    }
    const d = this.unacked.get(tag);
    if (!d) throw unknownTag(tag);
    this.forget(d);
    return [d];
  }

  /** When the oldest unacknowledged delivery was made, or undefined when there is none. */
  get oldest(): number | undefined {
    return this.unacked.values().next().value?.at;
  }

  /** The queue of the first delivery that `take(tag, multiple)` would take and `test` accepts. */
  find(tag: number, multiple: boolean, test: (q: Queue) => boolean): Queue | undefined {
    if (!multiple) {
      const q = this.unacked.get(tag)?.queue;
      return q !== undefined && test(q) ? q : undefined;
    }
    for (const d of this.unacked.values()) {
      if (tag !== 0 && d.tag > tag) break;
      if (test(d.queue)) return d.queue;
    }
    return undefined;
  }

  /** Throws as `take` would, without taking anything (acks inside a transaction). */
  check(tag: number, multiple: boolean): void {
    if (!multiple) {
      if (!this.unacked.has(tag)) throw unknownTag(tag);
      return;
    }
    const oldest: number | undefined = this.unacked.keys().next().value;
    if (tag !== 0 && (oldest === undefined || oldest > tag)) throw unknownTag(tag);
  }

  /** Every unacknowledged delivery, removed (channel close, basic.recover). */
  takeAll(): Delivery[] {
    const out = [...this.unacked.values()];
    for (const d of out) this.forget(d);
    return out;
  }

  private forget(d: Delivery): void {
    this.unacked.delete(d.tag);
    d.queue.unacked--;
    if (d.consumer) {
      d.consumer.unacked--;
      this.consumerUnacked--;
    }
  }
}

function unknownTag(tag: number) {
  return preconditionFailed(`unknown delivery tag ${tag}`);
}

/** Puts deliveries back into their queues, each queue getting its own in one go. */
export function requeue(deliveries: Delivery[]): void {
  const byQueue = new Map<Queue, QueuedMessage[]>();
  for (const d of deliveries) {
    if (d.queue.deleted) continue;
    let list = byQueue.get(d.queue);
    if (!list) byQueue.set(d.queue, (list = []));
    list.push(d.entry);
  }
  for (const [q, entries] of byQueue) q.requeue(entries);
}
