// A queue's ready messages: one FIFO, or one FIFO per priority level for x-max-priority queues.
import { Deque } from './deque.js';
import type { QueuedMessage } from './message.js';
import type { QueueLog } from './store.js';

export interface ReadyMessages {
  readonly length: number;
  push(entry: QueuedMessage): void;
  /** The next message to deliver. */
  shift(): QueuedMessage | undefined;
  peek(): QueuedMessage | undefined;
  /** Puts requeued messages back where they were, by enqueue order. */
  putBack(entries: QueuedMessage[]): void;
  clear(): void;
  /** In delivery order, without taking them (inspection): those held in memory. */
  entries(): Iterable<QueuedMessage>;
  /** Messages (and their body bytes) kept out of memory by the collection itself, counted in `length`. */
  readonly pagedOut: number;
  readonly pagedOutBytes: number;
  /** The queue is gone: what the collection kept on disk goes. */
  dispose(): void;
}

/** How a priority queue that does not survive a restart keeps its backlog out of memory. */
export interface LevelPaging {
  /** A log for one priority level's overflow (opened when the level first needs it). */
  open(): QueueLog;
  /** The queue's next enqueue number, for a message read back from a level's log. */
  seq(): number;
  /** Ready messages kept in memory across all levels before new ones page out. */
  residentMax: number;
}

/** Messages read back from a level's log at a time. */
const READ_BACK = 1024;
const READ_BACK_BYTES = 4 << 20;

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

  readonly pagedOut = 0;
  readonly pagedOutBytes = 0;

  dispose(): void {}
}

/**
 * One priority level: a FIFO in memory and, once memory is full, a log its newest messages go to in
 * order (so everything in the log is behind everything in memory). Read back as memory empties,
 * a message leaves the log at once: it is transient, and acknowledging it touches no file.
 */
class Level {
  readonly resident = new FifoMessages();
  private log: QueueLog | undefined;

  constructor(private readonly paging: LevelPaging | undefined) {}

  get length(): number {
    return this.resident.length + (this.log?.unread ?? 0);
  }

  get pagedOut(): number {
    return this.log?.unread ?? 0;
  }

  get pagedOutBytes(): number {
    return this.log?.unreadBytes ?? 0;
  }

  /** `memoryFull`: the queue holds its maximum in memory. */
  push(entry: QueuedMessage, memoryFull: boolean): boolean {
    if (this.paging && (memoryFull || this.pagedOut > 0)) {
      (this.log ??= this.paging.open()).appendUnread(entry.message, entry.expiresAt, false);
      return false;
    }
    this.resident.push(entry);
    return true;
  }

  private readBack(): void {
    if (this.resident.length > 0 || this.pagedOut === 0) return;
    for (const m of this.log!.read(READ_BACK, READ_BACK_BYTES)) {
      this.log!.remove(m.ref);
      this.resident.push({ message: m.message, seq: this.paging!.seq(), redelivered: m.redelivered, expiresAt: m.expiresAt, deliveryCount: 0, ref: -1 });
    }
  }

  shift(): QueuedMessage | undefined {
    this.readBack();
    return this.resident.shift();
  }

  peek(): QueuedMessage | undefined {
    this.readBack();
    return this.resident.peek();
  }

  clear(): void {
    this.resident.clear();
    this.log?.removeUnread();
  }

  dispose(): void {
    this.log?.destroy();
  }
}

/** x-max-priority: the highest priority first, FIFO within a priority; above the maximum counts as the maximum. */
export class PriorityMessages implements ReadyMessages {
  private readonly levels: Level[];
  private count = 0;
  /** Messages held in memory, over all levels. */
  private resident = 0;

  /** With `paging`, levels page out once `residentMax` messages are in memory; without, all stay in memory. */
  constructor(
    private readonly max: number,
    private readonly paging?: LevelPaging,
  ) {
    this.levels = Array.from({ length: max + 1 }, () => new Level(paging));
  }

  private level(entry: QueuedMessage): Level {
    return this.levels[Math.min(entry.message.properties.priority ?? 0, this.max)];
  }

  private top(): Level | undefined {
    for (let p = this.max; p >= 0; p--) if (this.levels[p].length > 0) return this.levels[p];
    return undefined;
  }

  get length(): number {
    return this.count;
  }

  get pagedOut(): number {
    return this.levels.reduce((n, l) => n + l.pagedOut, 0);
  }

  get pagedOutBytes(): number {
    return this.levels.reduce((n, l) => n + l.pagedOutBytes, 0);
  }

  push(entry: QueuedMessage): void {
    if (this.level(entry).push(entry, this.paging !== undefined && this.resident >= this.paging.residentMax)) this.resident++;
    this.count++;
  }

  shift(): QueuedMessage | undefined {
    const top = this.top();
    if (top === undefined) return undefined;
    const before = top.resident.length;
    const entry = top.shift();
    // one message out, and whatever was read back in
    this.resident += top.resident.length - before;
    this.count--;
    return entry;
  }

  peek(): QueuedMessage | undefined {
    const top = this.top();
    if (top === undefined) return undefined;
    const before = top.resident.length;
    const entry = top.peek();
    this.resident += top.resident.length - before;
    return entry;
  }

  putBack(entries: QueuedMessage[]): void {
    const byLevel = new Map<Level, QueuedMessage[]>();
    for (const e of entries) {
      const level = this.level(e);
      const list = byLevel.get(level);
      if (list) list.push(e);
      else byLevel.set(level, [e]);
    }
    for (const [level, list] of byLevel) level.resident.putBack(list);
    this.count += entries.length;
    this.resident += entries.length;
  }

  clear(): void {
    for (const level of this.levels) level.clear();
    this.count = 0;
    this.resident = 0;
  }

  *entries(): Iterable<QueuedMessage> {
    for (let p = this.max; p >= 0; p--) yield* this.levels[p].resident.entries();
  }

  dispose(): void {
    for (const level of this.levels) level.dispose();
  }
}
