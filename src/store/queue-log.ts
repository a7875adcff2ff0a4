// One durable queue's log on disk: numbered segment files of message records, each with a side file
// of delivered/removed marks. A segment whose messages are all removed is deleted. The queue reads
// back, in order, the messages it did not keep in memory (and, after a restart, everything).
//
// When a write, an fsync or a read fails, the log says so once (with the path), stops writing and
// keeps in memory, in order, what it should have written; the segment it was writing is closed for
// good (at most a torn tail that recovery cuts off). Told to try again, it starts a new segment with
// what it kept. A log whose files could not be read at start-up stays off its directory until the
// next start, so nothing on disk is lost or overwritten.
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../broker/logger.js';
import { Message } from '../broker/message.js';
import { NOT_STORED, type LoggedMessage, type QueueLog, type StoreFault, type StoreRef } from '../broker/store.js';
import { errorCode, writeAll, type FileSystem } from './fs.js';
import { RECORD_HEADER_SIZE, recordHeader, scanRecords } from './records.js';

/** A file the next fsync round must sync: what to do after, and whom to tell when the fsync fails. */
export interface SyncTarget {
  readonly path: string;
  /** Whether the file is done with (the round closes it) or stays open for more writes. */
  release(): boolean;
  syncFailed(err: unknown): void;
}

/** What a log needs of its store. */
export interface LogOwner {
  readonly logger: Logger;
  readonly fs: FileSystem;
  readonly segmentSize: number;
  logDirty(log: FileQueueLog): void;
  /** `fd` was written (`bytes` of it): the next sync round fsyncs it. */
  written(fd: number, bytes: number, target: SyncTarget): void;
  /** Closes `fd`, once no sync round needs it. */
  closeFile(fd: number): void;
  /** The log's queue was deleted and its files are gone. */
  logDestroyed(log: FileQueueLog): void;
  /** The log stopped storing; `resumable` false: not before the next start. */
  logFailed(log: FileQueueLog, fault: StoreFault, resumable: boolean): void;
  logResumed(log: FileQueueLog): void;
  /** Reading back failed: the log reads nothing until `retryRead()`. */
  readFailed(log: FileQueueLog, fault: StoreFault): void;
}

const enum State {
  Ready = 0,
  Delivered = 1,
  Removed = 2,
}

const enum Mark {
  Delivered = 1,
  Removed = 2,
  /** Removed, for every index from..to-1 (a purge, or records a failed write did not store). */
  RemovedRange = 3,
}

const FLAG_PERSISTENT = 1;
/** flags, expiresAt, exchange length; the routing key length and header length follow the names. */
const PREFIX_FIXED = 1 + 8 + 1 + 1 + 4;
/** The segment number and the record index within it make a StoreRef. */
const INDEX_SPAN = 2 ** 32;
const READ_CHUNK = 1 << 20;

/** A message appended unread but not written yet: what a failed write leaves to be kept in memory. */
interface PendingUnread {
  readonly index: number;
  readonly message: Message;
  readonly expiresAt: number;
  readonly persistent: boolean;
}

/** A message the log keeps in memory because it could not write it. */
type Stranded = Omit<PendingUnread, 'index'>;

/**
 * One of a segment's two files (records, or marks): its path, its descriptor while open, and what a
 * sync round does with it. Made once per segment, so that writing allocates nothing.
 */
class SegmentFile implements SyncTarget {
  fd = -1;

  constructor(
    readonly path: string,
    private readonly segment: Segment,
    private readonly log: FileQueueLog,
  ) {}

  /** The segment being appended to keeps its files open; older ones close after their sync. */
  release(): boolean {
    if (this.fd < 0 || this.log.appendsTo(this.segment)) return false;
    this.fd = -1;
    return true;
  }

  /** After a failed fsync the kernel may have dropped the data: nothing more goes into this segment. */
  syncFailed(err: unknown): void {
    this.segment.sealed = true;
    this.log.syncFailed(this.path, err);
  }
}

class Segment {
  /** Records written (whole or not: a corrupt one still takes its index). */
  count = 0;
  live = 0;
  /** Bytes in the file, pending writes included. */
  size = 0;
  /** Bytes known to be in the file (written without error). */
  flushed = 0;
  /** Index of the first record not yet written. */
  flushedCount = 0;
  /** No more appends: a write or fsync to it failed. */
  sealed = false;
  states = new Uint8Array(1024);
  readonly pending: Buffer[] = [];
  readonly pendingUnread: PendingUnread[] = [];
  marks: number[] = [];
  /** The message records, and the delivered/removed marks. */
  readonly seg: SegmentFile;
  readonly ack: SegmentFile;

  constructor(
    readonly id: number,
    dir: string,
    log: FileQueueLog,
  ) {
    this.seg = new SegmentFile(join(dir, `${id}.seg`), this, log);
    this.ack = new SegmentFile(join(dir, `${id}.ack`), this, log);
  }

  setState(index: number, state: State): void {
    if (index >= this.states.length) {
      let n = this.states.length * 2;
      while (n <= index) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.states);
      this.states = grown;
    }
    this.states[index] = state;
  }
}

export class FileQueueLog implements QueueLog {
  private readonly segments: Segment[] = [];
  /** Unread messages, in the files and kept in memory (`stranded`). */
  unread = 0;
  unreadBytes = 0;
  /** The next unread record: its segment (by position in `segments`), byte offset and index. */
  private cursorSegment: Segment | undefined;
  private cursorOffset = 0;
  private cursorIndex = 0;
  private dirty = false;
  /** Whether the directory exists yet: a new log makes it with its first write. */
  private created: boolean;
  /** Why the log stores nothing now; undefined when it works. */
  private failure: StoreFault | undefined;
  /** The failure came at start-up: the directory is left alone until the next start. */
  private offline = false;
  /** A read failed: nothing is read back until the store says to try again. */
  private readBlocked = false;
  /** Unread messages the log could not write, after those in its files. */
  private readonly stranded: Stranded[] = [];
  private readonly fs: FileSystem;
  /** The store's logger, its lines naming the queue (when the log is a queue's). */
  private readonly logger: Logger;

  /**
   * `recover`: read what the directory holds; otherwise the log starts empty and touches no file until
   * written. `queue` names the queue in log lines ("'q' in vhost '/'"), beside the hashed directory.
   */
  constructor(
    readonly dir: string,
    private readonly owner: LogOwner,
    recover = true,
    queue?: { vhost: string; name: string },
  ) {
    this.fs = owner.fs;
    this.logger = queue ? owner.logger.child({ vhost: queue.vhost, queue: queue.name }) : owner.logger;
    this.created = recover;
    if (recover) this.recover();
  }

  /** Whether the log stores what it is given now. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  private get fileUnread(): number {
    return this.unread - this.stranded.length;
  }

  // ---- recovery ----

  /** Reads every segment: its marks, then its records, cutting off a torn tail. All live records become unread. */
  private recover(): void {
    try {
      const ids = this.fs
        .readdirSync(this.dir)
        .filter((f) => f.endsWith('.seg'))
        .map((f) => Number(f.slice(0, -4)))
        .filter(Number.isInteger)
        .sort((a, b) => a - b);
      for (const id of ids) {
        const s = new Segment(id, this.dir, this);
        this.readMarks(s);
        this.readRecords(s);
        s.flushedCount = s.count;
        if (s.live === 0) this.deleteFiles(s);
        else this.segments.push(s);
      }
    } catch (err) {
      this.segments.length = 0;
      this.unread = 0;
      this.unreadBytes = 0;
      this.offline = true;
      return this.fail('recover', (err as { path?: string }).path ?? this.dir, err);
    }
    this.cursorSegment = this.segments[0];
    this.cursorOffset = 0;
    this.cursorIndex = 0;
    if (this.unread > 0) this.logger.info({ dir: this.dir, messages: this.unread, bytes: this.unreadBytes, segments: this.segments.length }, 'queue log recovered');
  }

  /** A missing ack file is an empty one; any other failure to read it is an error (acked messages would come back). */
  private readMarks(s: Segment): void {
    if (!this.fs.existsSync(s.ack.path)) return;
    const data = this.fs.readFileSync(s.ack.path);
    const end = scanRecords(data, (payload, offset) => {
      if (!payload) return this.logger.error({ file: s.ack.path, offset }, 'corrupt ack record skipped');
      for (let i = 0; i < payload.length; ) {
        const mark = payload[i];
        const index = payload.readUInt32BE(i + 1);
        if (mark === Mark.RemovedRange) {
          const to = payload.readUInt32BE(i + 5);
          for (let k = index; k < to; k++) s.setState(k, State.Removed);
          i += 9;
        } else {
          if (s.states[index] !== State.Removed) s.setState(index, mark === Mark.Removed ? State.Removed : State.Delivered);
          i += 5;
        }
      }
    });
    if (end < data.length) this.truncate(s.ack.path, end);
  }

  private readRecords(s: Segment): void {
    const data = this.fs.readFileSync(s.seg.path);
    const end = scanRecords(data, (payload, offset) => {
      const index = s.count++;
      if (!payload) {
        this.logger.error({ file: s.seg.path, offset, index }, 'corrupt message record skipped');
        s.setState(index, State.Removed);
        return;
      }
      const state = index < s.states.length ? s.states[index] : State.Ready;
      // transient messages were on disk only to save memory: they do not survive a restart
      if (state === State.Removed || payload.length < PREFIX_FIXED || (payload[0] & FLAG_PERSISTENT) === 0) return s.setState(index, State.Removed);
      s.setState(index, state);
      s.live++;
      this.unread++;
      this.unreadBytes += bodyLength(payload);
    });
    if (end < data.length) {
      this.logger.warn({ file: s.seg.path, at: end, cut: data.length - end }, 'torn record at the end of a segment cut off');
      this.truncate(s.seg.path, end);
    }
    s.size = end;
    s.flushed = end;
  }

  private truncate(path: string, length: number): void {
    const fd = this.fs.openSync(path, 'r+');
    try {
      this.fs.ftruncateSync(fd, length);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  // ---- writing ----

  append(message: Message, expiresAt: number, persistent: boolean): StoreRef {
    if (this.failure !== undefined) return NOT_STORED;
    return this.appendRecord(message, expiresAt, persistent, false);
  }

  /** Appends that the queue does not keep in memory are unread until it reads them back. */
  appendUnread(message: Message, expiresAt: number, persistent: boolean): StoreRef {
    if (this.failure !== undefined || this.stranded.length > 0) {
      // kept in memory, behind what the files hold (written once the log works again)
      this.unread++;
      this.unreadBytes += message.body.length;
      this.stranded.push({ message, expiresAt, persistent });
      return NOT_STORED;
    }
    const ref = this.appendRecord(message, expiresAt, persistent, true);
    this.unread++;
    this.unreadBytes += message.body.length;
    return ref;
  }

  /** `unread`: the queue reads it back later (the first such record is where reading starts). */
  private appendRecord(message: Message, expiresAt: number, persistent: boolean, unread: boolean): StoreRef {
    const s = this.writableSegment();
    if (unread && this.fileUnread === 0) {
      this.cursorSegment = s;
      this.cursorOffset = s.size;
      this.cursorIndex = s.count;
    }
    const exchange = Buffer.from(message.exchange, 'utf8');
    const routingKey = Buffer.from(message.routingKey, 'utf8');
    const { header, body } = message;
    const prefix = Buffer.allocUnsafe(RECORD_HEADER_SIZE + PREFIX_FIXED + exchange.length + routingKey.length);
    let o = RECORD_HEADER_SIZE;
    prefix[o++] = persistent ? FLAG_PERSISTENT : 0;
    o = prefix.writeDoubleBE(expiresAt, o);
    prefix[o++] = exchange.length;
    o += exchange.copy(prefix, o);
    prefix[o++] = routingKey.length;
    o += routingKey.copy(prefix, o);
    prefix.writeUInt32BE(header.length, o);
    const payloadLength = prefix.length - RECORD_HEADER_SIZE + header.length + body.length;
    prefix.writeUInt32BE(payloadLength, 0);
    prefix.writeUInt32BE(crc32(body, crc32(header, crc32(prefix.subarray(RECORD_HEADER_SIZE)))), 4);
    s.pending.push(prefix, header, body);
    const index = s.count++;
    if (unread) s.pendingUnread.push({ index, message, expiresAt, persistent });
    s.setState(index, State.Ready);
    s.live++;
    s.size += RECORD_HEADER_SIZE + payloadLength;
    this.markDirty();
    return s.id * INDEX_SPAN + index;
  }

  delivered(ref: StoreRef): void {
    this.mark(ref, Mark.Delivered);
  }

  remove(ref: StoreRef): void {
    this.mark(ref, Mark.Removed);
  }

  private mark(ref: StoreRef, mark: Mark): void {
    const s = this.segment(Math.floor(ref / INDEX_SPAN));
    if (!s) return;
    const index = ref % INDEX_SPAN;
    if (s.states[index] === State.Removed) return;
    s.setState(index, mark === Mark.Removed ? State.Removed : State.Delivered);
    s.marks.push(mark, index);
    if (mark === Mark.Removed) s.live--;
    this.markDirty();
  }

  removeUnread(): void {
    let s = this.cursorSegment;
    let from = this.cursorIndex;
    while (this.fileUnread > 0 && s) {
      let removed = 0;
      for (let k = from; k < s.count; k++) {
        if (s.states[k] !== State.Removed) {
          s.states[k] = State.Removed;
          removed++;
        }
      }
      if (removed > 0) {
        s.live -= removed;
        s.marks.push(Mark.RemovedRange, from, s.count);
        this.markDirty();
      }
      s = this.segments[this.segments.indexOf(s) + 1];
      from = 0;
    }
    this.stranded.length = 0;
    this.unread = 0;
    this.unreadBytes = 0;
    this.cursorSegment = undefined;
  }

  private writableSegment(): Segment {
    let s = this.segments[this.segments.length - 1];
    if (s === undefined || s.sealed || s.size >= this.owner.segmentSize) {
      const previous = s;
      s = new Segment(s === undefined ? 1 : s.id + 1, this.dir, this);
      this.segments.push(s);
      // a full segment emptied while it was still being written to goes now
      if (previous !== undefined && previous.live === 0 && previous.pending.length === 0) {
        previous.marks = [];
        this.dropSegment(previous);
      }
    }
    return s;
  }

  private segment(id: number): Segment | undefined {
    // acks mostly concern the oldest segments
    for (const s of this.segments) if (s.id === id) return s;
    return undefined;
  }

  private markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.owner.logDirty(this);
  }

  /** Hands the buffered records and marks to the OS; deletes segments with nothing left in them. */
  writePending(): void {
    if (!this.dirty || this.failure !== undefined) return;
    this.dirty = false;
    const last = this.segments[this.segments.length - 1];
    for (const s of [...this.segments]) {
      if (s.pending.length > 0 && !this.writeRecords(s)) return;
      if (s.marks.length > 0) {
        if (s.live === 0 && s !== last) {
          this.dropSegment(s);
          continue;
        }
        if (!this.writeMarks(s)) return;
      }
    }
  }

  /** Writes a segment's pending records; false (the log has failed) when the disk refused them. */
  private writeRecords(s: Segment): boolean {
    try {
      if (!this.created) {
        this.fs.mkdirSync(this.dir);
        this.created = true;
      }
      if (s.seg.fd < 0) s.seg.fd = this.fs.openSync(s.seg.path, 'a');
      const bytes = writeAll(this.fs, s.seg.fd, s.pending);
      s.pending.length = 0;
      s.pendingUnread.length = 0;
      s.flushed = s.size;
      s.flushedCount = s.count;
      this.owner.written(s.seg.fd, bytes, s.seg);
      return true;
    } catch (err) {
      this.unwritten(s);
      this.fail('write', s.seg.path, err);
      return false;
    }
  }

  /**
   * The records of a failed write are not in the log: the file is cut back to what was written
   * before, they are forgotten (acks of the queue's copies change nothing), and those the queue did
   * not keep in memory are kept in memory here, in order.
   */
  private unwritten(s: Segment): void {
    const first = s.flushedCount;
    for (let k = first; k < s.count; k++) {
      if (s.states[k] !== State.Removed) s.live--;
      s.setState(k, State.Removed);
    }
    const lost = s.pendingUnread.map(({ message, expiresAt, persistent }) => ({ message, expiresAt, persistent }));
    this.stranded.unshift(...lost);
    s.pending.length = 0;
    s.pendingUnread.length = 0;
    s.sealed = true;
    if (s.seg.fd >= 0) {
      try {
        this.fs.ftruncateSync(s.seg.fd, s.flushed);
      } catch (err) {
        // what the failed write left in the file is marked removed, should the marks get there
        s.marks.push(Mark.RemovedRange, first, s.count);
        this.logger.error({ file: s.seg.path, code: errorCode(err) }, 'cannot cut a failed write off the segment: its records are marked removed');
      }
    }
    s.count = first;
    s.size = s.flushed;
  }

  private writeMarks(s: Segment): boolean {
    try {
      if (s.ack.fd < 0) s.ack.fd = this.fs.openSync(s.ack.path, 'a');
      const bytes = writeAll(this.fs, s.ack.fd, [encodeMarks(s.marks)]);
      s.marks = [];
      this.owner.written(s.ack.fd, bytes, s.ack);
      return true;
    } catch (err) {
      // the marks stay, to be written when the log works again; a torn mark record is cut off at recovery
      this.fail('write', s.ack.path, err);
      return false;
    }
  }

  /** Whether appends go to `s` (its files then stay open after a sync). */
  appendsTo(s: Segment): boolean {
    return s === this.segments[this.segments.length - 1] && !s.sealed;
  }

  syncFailed(path: string, err: unknown): void {
    this.fail('fsync', path, err);
  }

  private fail(op: string, path: string, err: unknown): void {
    const first = this.failure === undefined;
    this.failure = { op, path, code: errorCode(err) };
    if (first) this.owner.logFailed(this, this.failure, !this.offline);
  }

  private readFailed(path: string, err: unknown): void {
    if (this.readBlocked) return;
    this.readBlocked = true;
    this.owner.readFailed(this, { op: 'read', path, code: errorCode(err) });
  }

  retryRead(): void {
    this.readBlocked = false;
  }

  /** The disk may take writes again: what the log kept in memory goes to a new segment. */
  retry(): void {
    if (this.failure === undefined || this.offline) return;
    this.failure = undefined;
    this.owner.logResumed(this);
    // each kept message moves from memory to the file, staying unread
    while (this.stranded.length > 0) {
      const m = this.stranded.shift()!;
      this.unread--;
      this.appendRecord(m.message, m.expiresAt, m.persistent, true);
      this.unread++;
    }
    this.dirty = false;
    this.markDirty();
  }

  private dropSegment(s: Segment): void {
    const at = this.segments.indexOf(s);
    this.segments.splice(at, 1);
    if (this.cursorSegment === s) {
      this.cursorSegment = this.segments[at];
      this.cursorOffset = 0;
      this.cursorIndex = 0;
    }
    this.closeFiles(s);
    this.deleteFiles(s);
  }

  private closeFiles(s: Segment): void {
    for (const file of [s.seg, s.ack]) {
      if (file.fd >= 0) this.owner.closeFile(file.fd);
      file.fd = -1;
    }
  }

  private deleteFiles(s: Segment): void {
    this.removePath(s.seg.path);
    this.removePath(s.ack.path);
  }

  private removePath(path: string): void {
    try {
      this.fs.rmSync(path);
    } catch (err) {
      this.logger.error({ file: path, code: errorCode(err) }, 'cannot delete a file the queue no longer needs');
    }
  }

  // ---- reading back ----

  read(maxCount: number, maxBytes: number): LoggedMessage[] {
    const out: LoggedMessage[] = [];
    if (this.unread === 0) return out;
    this.writePending();
    let bytes = 0;
    while (this.fileUnread > 0 && out.length < maxCount && bytes < maxBytes) {
      const s = this.cursorSegment;
      if (s === undefined || this.readBlocked) break;
      if (this.cursorIndex >= s.count) {
        this.cursorSegment = this.segments[this.segments.indexOf(s) + 1];
        this.cursorOffset = 0;
        this.cursorIndex = 0;
        continue;
      }
      let chunk: Buffer;
      try {
        chunk = this.readAt(s.seg.path, this.cursorOffset, READ_CHUNK);
      } catch (err) {
        // what is left stays unread, to be read when the log is told to try again
        this.readFailed(s.seg.path, err);
        break;
      }
      if (chunk.length < RECORD_HEADER_SIZE) {
        // the file is shorter than its records say (changed under us): what is missing is lost
        this.logger.error({ file: s.seg.path, offset: this.cursorOffset }, 'segment ends before its last records');
        for (; this.cursorIndex < s.count; this.cursorIndex++) {
          if (s.states[this.cursorIndex] === State.Removed) continue;
          s.states[this.cursorIndex] = State.Removed;
          s.live--;
          this.unread--;
        }
        continue;
      }
      let o = 0;
      while (o + RECORD_HEADER_SIZE <= chunk.length && this.fileUnread > 0 && out.length < maxCount && bytes < maxBytes) {
        const length = chunk.readUInt32BE(o);
        if (o + RECORD_HEADER_SIZE + length > chunk.length) {
          if (o > 0) break;
          // a record larger than the chunk: read it whole
          try {
            bytes += this.take(s, this.readAt(s.seg.path, this.cursorOffset, RECORD_HEADER_SIZE + length), 0, out);
          } catch (err) {
            this.readFailed(s.seg.path, err);
          }
          break;
        }
        bytes += this.take(s, chunk, o, out);
        o += RECORD_HEADER_SIZE + length;
      }
    }
    // what could not be written comes after what the files hold
    while (this.fileUnread === 0 && this.stranded.length > 0 && out.length < maxCount && bytes < maxBytes) {
      const m = this.stranded.shift()!;
      this.unread--;
      this.unreadBytes -= m.message.body.length;
      bytes += m.message.body.length;
      out.push({ message: m.message, ref: NOT_STORED, redelivered: false, expiresAt: m.expiresAt });
    }
    return out;
  }

  /** Moves the cursor over the record at `o` in `data`, adding it to `out` if it is still in the queue. */
  private take(s: Segment, data: Buffer, o: number, out: LoggedMessage[]): number {
    const length = data.readUInt32BE(o);
    const index = this.cursorIndex++;
    this.cursorOffset += RECORD_HEADER_SIZE + length;
    const state = s.states[index];
    if (state === State.Removed) return 0;
    const payload = data.subarray(o + RECORD_HEADER_SIZE, o + RECORD_HEADER_SIZE + length);
    // the copy lets the chunk go; a queue holds a window of messages, not of chunks
    const record = decodeRecord(Buffer.from(payload));
    this.unread--;
    this.unreadBytes -= record.body.length;
    out.push({ message: record, ref: s.id * INDEX_SPAN + index, redelivered: state === State.Delivered, expiresAt: payload.readDoubleBE(1) });
    return record.body.length;
  }

  private readAt(path: string, position: number, length: number): Buffer {
    const fd = this.fs.openSync(path, 'r');
    try {
      const size = this.fs.fstatSize(fd);
      const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - position)));
      let n = 0;
      while (n < buffer.length) {
        const got = this.fs.readSync(fd, buffer, n, buffer.length - n, position + n);
        if (got === 0) break;
        n += got;
      }
      return buffer.subarray(0, n);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** The store is closing: files close, nothing is deleted. */
  close(): void {
    for (const s of this.segments) this.closeFiles(s);
  }

  destroy(): void {
    for (const s of this.segments) this.closeFiles(s);
    this.segments.length = 0;
    this.stranded.length = 0;
    this.unread = 0;
    this.unreadBytes = 0;
    this.dirty = false;
    if (this.created) this.removePath(this.dir);
    this.owner.logDestroyed(this);
  }
}

function bodyLength(payload: Buffer): number {
  let o = 9;
  o += 1 + payload[o];
  o += 1 + payload[o];
  const headerLength = payload.readUInt32BE(o);
  return payload.length - (o + 4 + headerLength);
}

function decodeRecord(payload: Buffer): Message {
  let o = 9;
  const exchange = payload.toString('utf8', o + 1, o + 1 + payload[o]);
  o += 1 + payload[o];
  const routingKey = payload.toString('utf8', o + 1, o + 1 + payload[o]);
  o += 1 + payload[o];
  const headerLength = payload.readUInt32BE(o);
  o += 4;
  return new Message(exchange, routingKey, payload.subarray(o, o + headerLength), payload.subarray(o + headerLength));
}

/** One ack-file record for a segment's new marks: (mark, index) pairs, with a range for RemovedRange. */
function encodeMarks(marks: number[]): Buffer {
  let size = 0;
  for (let i = 0; i < marks.length; ) {
    const range = marks[i] === Mark.RemovedRange;
    size += range ? 9 : 5;
    i += range ? 3 : 2;
  }
  const payload = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < marks.length; ) {
    payload[o++] = marks[i];
    o = payload.writeUInt32BE(marks[i + 1], o);
    if (marks[i] === Mark.RemovedRange) {
      o = payload.writeUInt32BE(marks[i + 2], o);
      i += 3;
    } else i += 2;
  }
  return Buffer.concat([recordHeader([payload]), payload]);
}
