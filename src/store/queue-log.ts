// One durable queue's log on disk: numbered segment files of message records, each with a side file
// of delivered/removed marks. A segment whose messages are all removed is deleted. The queue reads
// back, in order, the messages it did not keep in memory (and, after a restart, everything).
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync, readFileSync, rmSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Message } from '../broker/message.js';
import type { LoggedMessage, QueueLog, StoreRef } from '../broker/store.js';
import { RECORD_HEADER_SIZE, recordHeader, scanRecords } from './records.js';

export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a log needs of its store: to hear that it has writes pending, and which files to fsync. */
export interface LogOwner {
  readonly logger: StoreLogger;
  readonly segmentSize: number;
  /** Messages appended to any log (see MessageStore.appended). */
  appended: number;
  logDirty(log: FileQueueLog): void;
  /**
   * `fd` was written: the next sync round fsyncs it, then calls `release`, which says whether the
   * file is done with (the round closes it) or stays open for more writes.
   */
  written(fd: number, release: () => boolean): void;
  /** Closes `fd`, once no sync round needs it. */
  closeFile(fd: number): void;
  /** The log's queue was deleted and its files are gone. */
  logDestroyed(log: FileQueueLog): void;
}

const enum State {
  Ready = 0,
  Delivered = 1,
  Removed = 2,
}

const enum Mark {
  Delivered = 1,
  Removed = 2,
  /** Removed, for every index from..to-1 (a purge). */
  RemovedRange = 3,
}

const FLAG_PERSISTENT = 1;
/** flags, expiresAt, exchange length; the routing key length and header length follow the names. */
const PREFIX_FIXED = 1 + 8 + 1 + 1 + 4;
/** The segment number and the record index within it make a StoreRef. */
const INDEX_SPAN = 2 ** 32;
const READ_CHUNK = 1 << 20;

class Segment {
  /** Records written (whole or not: a corrupt one still takes its index). */
  count = 0;
  live = 0;
  /** Bytes in the file, pending writes included. */
  size = 0;
  states = new Uint8Array(1024);
  segFd = -1;
  ackFd = -1;
  readonly pending: Buffer[] = [];
  marks: number[] = [];

  constructor(
    readonly id: number,
    readonly dir: string,
  ) {}

  get segPath(): string {
    return join(this.dir, `${this.id}.seg`);
  }

  get ackPath(): string {
    return join(this.dir, `${this.id}.ack`);
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
  unread = 0;
  unreadBytes = 0;
  /** The next unread record: its segment (by position in `segments`), byte offset and index. */
  private cursorSegment: Segment | undefined;
  private cursorOffset = 0;
  private cursorIndex = 0;
  private dirty = false;
  /** Whether the directory exists yet: a new log makes it with its first write. */
  private created: boolean;

  /** `recover`: read what the directory holds; otherwise the log starts empty and touches no file until written. */
  constructor(
    readonly dir: string,
    private readonly owner: LogOwner,
    recover = true,
  ) {
    this.created = recover;
    if (recover) {
      mkdirSync(dir, { recursive: true });
      this.recover();
    }
  }

  // ---- recovery ----

  /** Reads every segment: its marks, then its records, cutting off a torn tail. All live records become unread. */
  private recover(): void {
    const ids = readdirSync(this.dir)
      .filter((f) => f.endsWith('.seg'))
      .map((f) => Number(f.slice(0, -4)))
      .filter(Number.isInteger)
      .sort((a, b) => a - b);
    for (const id of ids) {
      const s = new Segment(id, this.dir);
      this.readMarks(s);
      this.readRecords(s);
      if (s.live === 0) this.deleteFiles(s);
      else this.segments.push(s);
    }
    this.cursorSegment = this.segments[0];
    this.cursorOffset = 0;
    this.cursorIndex = 0;
    if (this.unread > 0) this.owner.logger.info({ dir: this.dir, messages: this.unread, bytes: this.unreadBytes, segments: this.segments.length }, 'queue log recovered');
  }

  private readMarks(s: Segment): void {
    let data: Buffer;
    try {
      data = readFileSync(s.ackPath);
    } catch {
      return;
    }
    const end = scanRecords(data, (payload, offset) => {
      if (!payload) return this.owner.logger.error({ file: s.ackPath, offset }, 'corrupt ack record skipped');
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
    if (end < data.length) this.truncate(s.ackPath, end);
  }

  private readRecords(s: Segment): void {
    const data = readFileSync(s.segPath);
    const end = scanRecords(data, (payload, offset) => {
      const index = s.count++;
      if (!payload) {
        this.owner.logger.error({ file: s.segPath, offset, index }, 'corrupt message record skipped');
        s.setState(index, State.Removed);
        return;
      }
      const state = index < s.states.length ? s.states[index] : State.Ready;
      // transient messages were on disk only to save memory: they do not survive a restart
      if (state === State.Removed || (payload[0] & FLAG_PERSISTENT) === 0) return s.setState(index, State.Removed);
      s.setState(index, state);
      s.live++;
      this.unread++;
      this.unreadBytes += bodyLength(payload);
    });
    if (end < data.length) {
      this.owner.logger.warn({ file: s.segPath, at: end, cut: data.length - end }, 'torn record at the end of a segment cut off');
      this.truncate(s.segPath, end);
    }
    s.size = end;
  }

  private truncate(path: string, length: number): void {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, length);
    } finally {
      closeSync(fd);
    }
  }

  // ---- writing ----

  append(message: Message, expiresAt: number, persistent: boolean): StoreRef {
    const s = this.writableSegment();
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
    s.setState(index, State.Ready);
    s.live++;
    s.size += RECORD_HEADER_SIZE + payloadLength;
    this.owner.appended++;
    this.markDirty();
    return s.id * INDEX_SPAN + index;
  }

  /** Appends that the queue does not keep in memory are unread until it reads them back. */
  appendUnread(message: Message, expiresAt: number, persistent: boolean): StoreRef {
    const s = this.writableSegment();
    if (this.unread === 0) {
      this.cursorSegment = s;
      this.cursorOffset = s.size;
      this.cursorIndex = s.count;
    }
    this.unread++;
    this.unreadBytes += message.body.length;
    return this.append(message, expiresAt, persistent);
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
    while (this.unread > 0 && s) {
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
    this.unread = 0;
    this.unreadBytes = 0;
    this.cursorSegment = undefined;
  }

  private writableSegment(): Segment {
    let s = this.segments[this.segments.length - 1];
    if (s === undefined || s.size >= this.owner.segmentSize) {
      const previous = s;
      s = new Segment(s === undefined ? 1 : s.id + 1, this.dir);
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
    if (!this.dirty) return;
    this.dirty = false;
    const last = this.segments[this.segments.length - 1];
    for (const s of [...this.segments]) {
      if (s.pending.length > 0) {
        if (!this.created) {
          mkdirSync(this.dir, { recursive: true });
          this.created = true;
        }
        if (s.segFd < 0) s.segFd = openSync(s.segPath, 'a');
        writevSync(s.segFd, s.pending);
        s.pending.length = 0;
        this.owner.written(s.segFd, () => this.release(s, 'segFd'));
      }
      if (s.marks.length > 0) {
        if (s.live === 0 && s !== last) {
          this.dropSegment(s);
          continue;
        }
        if (s.ackFd < 0) s.ackFd = openSync(s.ackPath, 'a');
        writeSync(s.ackFd, encodeMarks(s.marks));
        s.marks = [];
        this.owner.written(s.ackFd, () => this.release(s, 'ackFd'));
      }
    }
  }

  /** The segment being appended to keeps its files open; older ones close after their sync. */
  private release(s: Segment, file: 'segFd' | 'ackFd'): boolean {
    if (s === this.segments[this.segments.length - 1] || s[file] < 0) return false;
    s[file] = -1;
    return true;
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
    if (s.segFd >= 0) this.owner.closeFile(s.segFd);
    if (s.ackFd >= 0) this.owner.closeFile(s.ackFd);
    s.segFd = -1;
    s.ackFd = -1;
  }

  private deleteFiles(s: Segment): void {
    rmSync(s.segPath, { force: true });
    rmSync(s.ackPath, { force: true });
  }

  // ---- reading back ----

  read(maxCount: number, maxBytes: number): LoggedMessage[] {
    const out: LoggedMessage[] = [];
    if (this.unread === 0) return out;
    this.writePending();
    let bytes = 0;
    while (this.unread > 0 && out.length < maxCount && bytes < maxBytes) {
      const s = this.cursorSegment;
      if (s === undefined) break;
      if (this.cursorIndex >= s.count) {
        this.cursorSegment = this.segments[this.segments.indexOf(s) + 1];
        this.cursorOffset = 0;
        this.cursorIndex = 0;
        continue;
      }
      const chunk = readAt(s.segPath, this.cursorOffset, READ_CHUNK);
      if (chunk.length < RECORD_HEADER_SIZE) {
        // the file is shorter than its records say (changed under us): what is missing is lost
        this.owner.logger.error({ file: s.segPath, offset: this.cursorOffset }, 'segment ends before its last records');
        for (; this.cursorIndex < s.count; this.cursorIndex++) {
          if (s.states[this.cursorIndex] === State.Removed) continue;
          s.states[this.cursorIndex] = State.Removed;
          s.live--;
          this.unread--;
        }
        continue;
      }
      let o = 0;
      while (o + RECORD_HEADER_SIZE <= chunk.length && this.unread > 0 && out.length < maxCount && bytes < maxBytes) {
        const length = chunk.readUInt32BE(o);
        if (o + RECORD_HEADER_SIZE + length > chunk.length) {
          if (o > 0) break;
          // a record larger than the chunk: read it whole
          const whole = readAt(s.segPath, this.cursorOffset, RECORD_HEADER_SIZE + length);
          bytes += this.take(s, whole, 0, out);
          break;
        }
        bytes += this.take(s, chunk, o, out);
        o += RECORD_HEADER_SIZE + length;
      }
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

  /** The store is closing: files close, nothing is deleted. */
  close(): void {
    for (const s of this.segments) {
      if (s.segFd >= 0) closeSync(s.segFd);
      if (s.ackFd >= 0) closeSync(s.ackFd);
      s.segFd = -1;
      s.ackFd = -1;
    }
  }

  destroy(): void {
    for (const s of this.segments) this.closeFiles(s);
    this.segments.length = 0;
    this.unread = 0;
    this.unreadBytes = 0;
    this.dirty = false;
    if (this.created) rmSync(this.dir, { recursive: true, force: true });
    this.owner.logDestroyed(this);
  }
}

function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - position)));
    let n = 0;
    while (n < buffer.length) {
      const got = readSync(fd, buffer, n, buffer.length - n, position + n);
      if (got === 0) break;
      n += got;
    }
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
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
