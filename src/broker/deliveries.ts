// A session's delivery tags: what was delivered and not yet acknowledged, in tag order.
//
// Kept in a ring buffer in tag order rather than a Map: acks mostly come in order, so settling is a
// look at the front; others are found by binary search. (A Map churned by a delivery and an ack per
// message also keeps rebuilding its hash table, and V8 links each discarded table to the next: once
// one of them is in the old generation, every later one outlives the young-generation collections,
// and the broker spends its time in full collections.)
import { Deque } from './deque.js';
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
  /** Acknowledged (or otherwise settled) but still in the buffer, behind an older unsettled one. */
  settled: boolean;
}

export class Deliveries {
  private nextTag = 1;
  /** Deliveries in tag order; settled ones stay until no unsettled one is in front of them. */
  private pending = new Deque<Delivery>();
  /** Unsettled deliveries. */
  private live = 0;
  /** Unacknowledged consumer deliveries, for a channel-wide (global) prefetch. */
  consumerUnacked = 0;

  get size(): number {
    return this.live;
  }

  /** The tag for a delivery the client does not acknowledge. */
  untracked(): number {
    return this.nextTag++;
  }

  /** The tag for a delivery the client must acknowledge, made at `now`. */
  track(queue: Queue, entry: QueuedMessage, consumer: Delivery['consumer'], now: number): number {
    const tag = this.nextTag++;
    this.pending.push({ tag, queue, entry, consumer, at: now, settled: false });
    this.live++;
    if (consumer) {
      consumer.unacked++;
      this.consumerUnacked++;
    }
    return tag;
  }

  /**
   * Removes and returns the deliveries an ack/nack/reject names: one tag, or with `multiple` every tag
   * up to it (tag 0 meaning all). A tag that is not outstanding is RabbitMQ's 406, with `multiple` too:
   * its collect_acks walks the unacknowledged up to that very tag.
   */
  take(tag: number, multiple: boolean): Delivery[] {
    if (!multiple) {
      const d = this.find(tag);
      if (d === undefined) throw unknownTag(tag);
      this.settle(d);
      this.trim();
      return [d];
    }
    if (tag !== 0 && this.find(tag) === undefined) throw unknownTag(tag);
    const out = this.upTo(tag);
    for (const d of out) this.settle(d);
    this.trim();
    return out;
  }

  /** When the oldest unacknowledged delivery was made, or undefined when there is none. */
  get oldest(): number | undefined {
    return this.pending.peek()?.at;
  }

  /** The queues of the deliveries `take(tag, multiple)` would take, in tag order. */
  queuesOf(tag: number, multiple: boolean): Set<Queue> {
    const queues = new Set<Queue>();
    if (!multiple) {
      const d = this.find(tag);
      if (d !== undefined) queues.add(d.queue);
    } else for (const d of this.upTo(tag)) queues.add(d.queue);
    return queues;
  }

  /** Throws as `take` would, without taking anything (acks inside a transaction). */
  check(tag: number, multiple: boolean): void {
    if ((!multiple || tag !== 0) && this.find(tag) === undefined) throw unknownTag(tag);
  }

  /** Every unsettled delivery, in tag order, left as it is (inspection). */
  *unsettled(): Iterable<Delivery> {
    for (const d of this.pending) if (!d.settled) yield d;
  }

  /** Every unacknowledged delivery, removed (session end, basic.recover). */
  takeAll(): Delivery[] {
    const out = this.upTo(0);
    for (const d of out) this.settle(d);
    this.pending = new Deque();
    return out;
  }

  /** The unsettled delivery with `tag`: the front one usually, else by binary search. */
  private find(tag: number): Delivery | undefined {
    const front = this.pending.peek();
    if (front === undefined || tag < front.tag) return undefined;
    let d: Delivery | undefined;
    if (front.tag === tag) d = front;
    else {
      let lo = 1;
      let hi = this.pending.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const m = this.pending.get(mid)!;
        if (m.tag === tag) {
          d = m;
          break;
        }
        if (m.tag < tag) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return d === undefined || d.settled ? undefined : d;
  }

  /** The unsettled deliveries with tags up to `tag` (all for 0), in tag order. */
  private upTo(tag: number): Delivery[] {
    const out: Delivery[] = [];
    for (let i = 0; i < this.pending.length; i++) {
      const d = this.pending.get(i)!;
      if (tag !== 0 && d.tag > tag) break;
      if (!d.settled) out.push(d);
    }
    return out;
  }

  private settle(d: Delivery): void {
    d.settled = true;
    this.live--;
    if (d.consumer) {
      d.consumer.unacked--;
      this.consumerUnacked--;
    }
  }

  /** Settled deliveries leave from the front; when they are most of the buffer, it is rebuilt without them. */
  private trim(): void {
    const pending = this.pending;
    while (pending.peek()?.settled) pending.shift();
    if (pending.length > 1024 && this.live * 2 < pending.length) {
      const kept = new Deque<Delivery>();
      for (let i = 0; i < pending.length; i++) {
        const d = pending.get(i)!;
        if (!d.settled) kept.push(d);
      }
      this.pending = kept;
    }
  }
}

function unknownTag(tag: number) {
  return preconditionFailed(`unknown delivery tag ${tag}`);
}
