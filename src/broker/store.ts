// What the broker needs of persistent storage. The broker owns these interfaces; src/store provides
// the on-disk implementation, and an in-memory one serves tests of recovery without files.
import type { Message } from './message.js';

/** A message's place in its queue's log (opaque to the broker). */
export type StoreRef = number;

/** The ref of a message a log could not store (its disk failed): it lives in memory only. */
export const NOT_STORED: StoreRef = -1;

/** A message read back from a queue's log. */
export interface LoggedMessage {
  readonly message: Message;
  readonly ref: StoreRef;
  /** It had been delivered and not acknowledged before a restart. */
  readonly redelivered: boolean;
  readonly expiresAt: number;
}

/**
 * One durable queue's log: its persistent messages, and the messages it keeps out of memory, in queue
 * order. Writes are buffered and reach the OS when the store writes its pending data. A log whose
 * disk failed stores nothing until it is told to try again: appends return NOT_STORED, and what it
 * should keep out of memory it keeps in memory instead, in order.
 */
export interface QueueLog {
  /** Messages (and their body bytes) in the log that have not been read back yet. */
  readonly unread: number;
  readonly unreadBytes: number;
  /** A persistent message the queue also keeps in memory; NOT_STORED when the log cannot store it. */
  append(message: Message, expiresAt: number, persistent: true): StoreRef;
  /**
   * A message the queue does not keep in memory, to be read back later; once there is one, every
   * later message goes this way too. A transient one (`persistent` false) is dropped on recovery.
   */
  appendUnread(message: Message, expiresAt: number, persistent: boolean): StoreRef;
  /** The message was delivered and awaits its ack (recovered as redelivered). */
  delivered(ref: StoreRef): void;
  /** The message left the queue for good (acked, dropped, dead-lettered). */
  remove(ref: StoreRef): void;
  /** Reads back, in order, up to `maxCount` messages or about `maxBytes` of bodies not read yet. */
  read(maxCount: number, maxBytes: number): LoggedMessage[];
  /** Every unread message is removed (purge). */
  removeUnread(): void;
  /** The queue was deleted: its files go. */
  destroy(): void;
}

/**
 * Told once everything appended before it registered has been fsync'd, with the logs that failed to
 * store some of it meanwhile (a write or an fsync failed): what it appended to those is not durable.
 */
export interface SyncListener {
  synced(failed: ReadonlySet<QueueLog> | undefined): void;
}

/** A failed disk operation, already logged by the store with its path. */
export interface StoreFault {
  readonly op: string;
  readonly path: string;
  readonly code: string;
}

/** What the broker hears from its store. */
export interface StoreListener {
  /** Bytes were handed to the OS (the disk alarm measures free space by them). */
  written(bytes: number): void;
  failed(fault: StoreFault): void;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type DefinitionKind = 'vhost' | 'exchange' | 'queue' | 'binding' | 'policy' | 'user' | 'permission' | 'topic-permission';

export interface Definition {
  kind: DefinitionKind;
  vhost: string;
  /** Unique within kind and vhost. */
  key: string;
  value: { [key: string]: JsonValue };
}

/** Where queues keep the messages that do not fit in memory: a store, or an in-memory broker's own. */
export interface Pager {
  /** An empty log for a queue whose messages do not survive a restart: it only keeps them out of memory. */
  pagingLog(): QueueLog;
  close(): void;
}

export interface MessageStore extends Pager {
  /** The definitions recovered at start-up, in the order they were made. */
  readonly definitions: readonly Definition[];
  putDefinition(d: Definition): void;
  deleteDefinition(kind: DefinitionKind, vhost: string, key: string): void;
  /** A durable queue's log, with what it held when the broker last stopped. */
  queueLog(vhost: string, queue: string): QueueLog;
  /** Recovery is over: logs of queues that were not opened belong to nothing and go. */
  dropUnopenedLogs(): void;
  /** Hands buffered writes to the OS: from then on, a crash of this process loses none of them. */
  writePending(): void;
  /** `listener.synced()` is called once everything written so far is fsync'd (one fsync serves many). */
  afterSync(listener: SyncListener): void;
  listen(listener: StoreListener): void;
  /** The disk may take writes again: failed logs try again (and say whether they could). */
  retryFailed(): void;
  close(): void;
}
