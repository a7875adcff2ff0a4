// A store that keeps its "disk" in memory: the same behaviour as the file store, restart included
// (open a new broker on it), without files. For tests of recovery, and the shared store test suite.
import type { Message } from '../broker/message.js';
import type { Definition, DefinitionKind, LoggedMessage, MessageStore, QueueLog, StoreRef, SyncListener } from '../broker/store.js';

interface Entry {
  readonly message: Message;
  readonly expiresAt: number;
  readonly persistent: boolean;
  delivered: boolean;
  removed: boolean;
}

class MemoryQueueLog implements QueueLog {
  /** Where unread entries start; entries before it were read or kept in memory by the queue. */
  private cursor = 0;

  constructor(readonly entries: Entry[]) {}

  get unread(): number {
    let n = 0;
    for (let i = this.cursor; i < this.entries.length; i++) if (!this.entries[i].removed) n++;
    return n;
  }

  get unreadBytes(): number {
    let n = 0;
    for (let i = this.cursor; i < this.entries.length; i++) if (!this.entries[i].removed) n += this.entries[i].message.body.length;
    return n;
  }

  append(message: Message, expiresAt: number, persistent: boolean): StoreRef {
    this.entries.push({ message, expiresAt, persistent, delivered: false, removed: false });
    if (this.cursor === this.entries.length - 1 && this.unread === 1) this.cursor++;
    return this.entries.length - 1;
  }

  appendUnread(message: Message, expiresAt: number, persistent: boolean): StoreRef {
    this.entries.push({ message, expiresAt, persistent, delivered: false, removed: false });
    return this.entries.length - 1;
  }

  delivered(ref: StoreRef): void {
    this.entries[ref].delivered = true;
  }

  remove(ref: StoreRef): void {
    this.entries[ref].removed = true;
  }

  read(maxCount: number, maxBytes: number): LoggedMessage[] {
    const out: LoggedMessage[] = [];
    let bytes = 0;
    while (this.cursor < this.entries.length && out.length < maxCount && bytes < maxBytes) {
      const ref = this.cursor++;
      const e = this.entries[ref];
      if (e.removed) continue;
      out.push({ message: e.message, ref, redelivered: e.delivered, expiresAt: e.expiresAt });
      bytes += e.message.body.length;
    }
    return out;
  }

  removeUnread(): void {
    for (; this.cursor < this.entries.length; this.cursor++) this.entries[this.cursor].removed = true;
  }

  destroy(): void {
    for (const e of this.entries) e.removed = true;
  }
}

export class MemoryStore implements MessageStore {
  private readonly saved = new Map<string, Definition>();
  private readonly logs = new Map<string, Entry[]>();
  private readonly opened = new Set<string>();
  private waiting: SyncListener[] = [];

  get definitions(): readonly Definition[] {
    return [...this.saved.values()];
  }

  putDefinition(d: Definition): void {
    const id = `${d.kind}\u0000${d.vhost}\u0000${d.key}`;
    this.saved.delete(id);
    this.saved.set(id, structuredClone(d));
  }

  deleteDefinition(kind: DefinitionKind, vhost: string, key: string): void {
    this.saved.delete(`${kind}\u0000${vhost}\u0000${key}`);
  }

  queueLog(vhost: string, queue: string): QueueLog {
    const id = `${vhost}\u0000${queue}`;
    this.opened.add(id);
    let entries = this.logs.get(id);
    if (!entries) this.logs.set(id, (entries = []));
    return new MemoryQueueLog(entries);
  }

  pagingLog(): QueueLog {
    return new MemoryQueueLog([]);
  }

  dropUnopenedLogs(): void {
    for (const id of this.logs.keys()) if (!this.opened.has(id)) this.logs.delete(id);
  }

  writePending(): void {}

  /** Memory never fails. */
  listen(): void {}

  retryFailed(): void {}

  afterSync(listener: SyncListener): void {
    if (this.waiting.length === 0) setImmediate(() => this.syncRound());
    this.waiting.push(listener);
  }

  private syncRound(): void {
    const listeners = this.waiting;
    this.waiting = [];
    for (const l of listeners) l.synced(undefined);
  }

  /** A restart: what was removed stays removed, transient messages are gone, the rest is unread again. */
  close(): void {
    for (const [id, entries] of this.logs) {
      this.logs.set(
        id,
        entries.filter((e) => e.persistent && !e.removed),
      );
    }
    this.opened.clear();
  }
}
