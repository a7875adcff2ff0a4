// A session's delivery tags: what was delivered and not yet acknowledged, in tag order.
import type { QueuedMessage } from './message.js';
import type { Queue } from './queue.js';
import { preconditionFailed } from './errors.js';

export interface Delivery {
  readonly tag: number;
  readonly queue: Queue;
  readonly entry: QueuedMessage;
  /** The consumer it counts against for prefetch (none for basic.get). */
  readonly consumer: { unacked: number } | undefined;
  /** When it was delivered (ms since the epoch, by the broker's clock), for the consumer timeout. */
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

  /** The tag for a delivery the client must acknowledge, made at `now`. */
  track(queue: Queue, entry: QueuedMessage, consumer: Delivery['consumer'], now: number): number {
    const tag = this.nextTag++;
    this.unacked.set(tag, { tag, queue, entry, consumer, at: now });
    if (consumer) {
      consumer.unacked++;
      this.consumerUnacked++;
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

  /** The queues of the deliveries `take(tag, multiple)` would take, in tag order. */
  queuesOf(tag: number, multiple: boolean): Set<Queue> {
    const queues = new Set<Queue>();
    if (!multiple) {
      const q = this.unacked.get(tag)?.queue;
      if (q !== undefined) queues.add(q);
      return queues;
    }
    for (const d of this.unacked.values()) {
      if (tag !== 0 && d.tag > tag) break;
      queues.add(d.queue);
    }
    return queues;
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

  /** Every unacknowledged delivery, removed (session end, basic.recover). */
  takeAll(): Delivery[] {
    const out = [...this.unacked.values()];
    for (const d of out) this.forget(d);
    return out;
  }

  private forget(d: Delivery): void {
    this.unacked.delete(d.tag);
    if (d.consumer) {
      d.consumer.unacked--;
      this.consumerUnacked--;
    }
  }
}

function unknownTag(tag: number) {
  return preconditionFailed(`unknown delivery tag ${tag}`);
}
