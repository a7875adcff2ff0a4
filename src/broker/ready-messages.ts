// A queue's ready messages: one FIFO, or one FIFO per priority level for x-max-priority queues.
import { Deque } from './deque.js';
import type { QueuedMessage } from './message.js';

export interface ReadyMessages {
  readonly length: number;
  push(entry: QueuedMessage): void;
  /** The next message to deliver. */
  shift(): QueuedMessage | undefined;
  peek(): QueuedMessage | undefined;
  /** Puts requeued messages back where they were, by enqueue order. */
  putBack(entries: QueuedMessage[]): void;
  clear(): void;
  /** In delivery order, without taking them (inspection). */
  entries(): Iterable<QueuedMessage>;
}

export class FifoMessages implements ReadyMessages {
  private readonly items = new Deque<QueuedMessage>();

  get length(): number {
    return this.items.length;
  }

  push(entry: QueuedMessage): void {
    this.items.push(entry);
  }

  shift(): QueuedMessage | undefined {
    return this.items.shift();
  }

  peek(): QueuedMessage | undefined {
    return this.items.peek();
  }

  putBack(entries: QueuedMessage[]): void {
    const back = entries.slice().sort((a, b) => a.seq - b.seq);
    const last = back[back.length - 1].seq;
    // ready messages older than the last requeued one (earlier requeues) merge with them by seq
    const head: QueuedMessage[] = [];
    while (this.items.length > 0 && this.items.peek()!.seq < last) head.push(this.items.shift()!);
    const merged: QueuedMessage[] = [];
    let i = 0;
    let j = 0;
    while (i < back.length || j < head.length) {
      if (j >= head.length || (i < back.length && back[i].seq < head[j].seq)) merged.push(back[i++]);
      else merged.push(head[j++]);
    }
    for (let k = merged.length - 1; k >= 0; k--) this.items.unshift(merged[k]);
  }

  clear(): void {
    this.items.clear();
  }

  entries(): Iterable<QueuedMessage> {
    return this.items;
  }
}

/** x-max-priority: the highest priority first, FIFO within a priority; above the maximum counts as the maximum. */
export class PriorityMessages implements ReadyMessages {
  private readonly levels: FifoMessages[];
  private count = 0;

  constructor(private readonly max: number) {
    this.levels = Array.from({ length: max + 1 }, () => new FifoMessages());
  }

  private level(entry: QueuedMessage): FifoMessages {
    return this.levels[Math.min(entry.message.properties.priority ?? 0, this.max)];
  }

  private top(): FifoMessages | undefined {
    for (let p = this.max; p >= 0; p--) if (this.levels[p].length > 0) return this.levels[p];
    return undefined;
  }

  get length(): number {
    return this.count;
  }

  push(entry: QueuedMessage): void {
    this.level(entry).push(entry);
    this.count++;
  }

  shift(): QueuedMessage | undefined {
    const top = this.top();
    if (top === undefined) return undefined;
    this.count--;
    return top.shift();
  }

  peek(): QueuedMessage | undefined {
    return this.top()?.peek();
  }

  putBack(entries: QueuedMessage[]): void {
    const byLevel = new Map<FifoMessages, QueuedMessage[]>();
    for (const e of entries) {
      const level = this.level(e);
      const list = byLevel.get(level);
      if (list) list.push(e);
      else byLevel.set(level, [e]);
    }
    for (const [level, list] of byLevel) level.putBack(list);
    this.count += entries.length;
  }

  clear(): void {
    for (const level of this.levels) level.clear();
    this.count = 0;
  }

  *entries(): Iterable<QueuedMessage> {
    for (let p = this.max; p >= 0; p--) yield* this.levels[p].entries();
  }
}
