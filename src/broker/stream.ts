// Stream queues as AMQP 0-9-1 clients see them in RabbitMQ: an append-only log that every consumer
// reads for itself from an offset (x-stream-offset), acks only giving credit back. Messages are
// grouped in chunks (one per event-loop turn of publishing, as RabbitMQ batches its writes), and
// retention (x-max-length-bytes, x-max-age) drops whole segments when a new one starts.
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import { parseAge, validateConsumerArgs, type QueueType } from './arguments.js';
import { internalError, notImplemented, preconditionFailed } from './errors.js';
import { Message, contentHeaderOf, sortedTable, type QueuedMessage } from './message.js';
import { Enqueued, Queue, unsupported, type Consumer, type ConsumerCredit, type QueueHost, type QueueOptions, type Settlement } from './queue.js';
import type { QueueLog } from './store.js';

/** RabbitMQ's default x-stream-max-segment-size-bytes. */
const DEFAULT_SEGMENT_SIZE = 500_000_000;
/** What a stored chunk costs beyond its messages' content, roughly as in RabbitMQ's segment files. */
const CHUNK_OVERHEAD = 64;

/** Where a consumer starts reading. */
export type StreamStart = { kind: 'first' | 'last' | 'next' } | { kind: 'offset'; offset: number } | { kind: 'time'; at: number };

/** The x-stream-offset consumer argument (an interval counting back from `now`), or RabbitMQ's error for it. */
export function parseStreamOffset(f: FieldValue | undefined, what: string, now: number): StreamStart {
  if (f === undefined) return { kind: 'next' };
  switch (f.type) {
    case 'S':
    case 'x': {
      const text = Buffer.from(f.value).toString('utf8');
      if (text === 'first' || text === 'last' || text === 'next') return { kind: text };
      const age = parseAge(text);
      if (age === 'crash') throw internalError();
      if (age === 'invalid') throw preconditionFailed(`invalid arg 'x-stream-offset' for ${what}: {invalid_stream_offset_arg,{longstr,<<"${text}">>}}`);
      return { kind: 'time', at: now - age };
    }
    case 'T':
      return { kind: 'time', at: Number(f.value) * 1000 };
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
      return { kind: 'offset', offset: Math.max(0, Number(f.value)) };
    default:
      throw internalError();
  }
}

interface StreamEntry {
  readonly offset: number;
  readonly chunk: number;
  /** When its chunk was written (ms). */
  readonly timestamp: number;
  readonly message: Message;
  readonly ref: number;
}

interface Segment {
  readonly firstOffset: number;
  bytes: number;
  lastTimestamp: number;
}

/** A consumer's read position; it may start a chunk only with credit, and then gets all of it. */
interface Reader {
  next: number;
  chunk: number;
}

export class StreamQueue extends Queue {
  override readonly type: QueueType = 'stream';
  private readonly entries: StreamEntry[] = [];
  /** Index in `entries` of the first retained message (trimmed lazily). */
  private start = 0;
  private nextOffset = 0;
  private chunk = 0;
  private chunkOpen = false;
  private readonly closeChunk = () => (this.chunkOpen = false);
  private readonly segments: Segment[] = [];
  private readonly readers = new Map<Consumer, Reader>();
  private readonly maxSegmentSize: number;
  private readonly maxBytes: number | undefined;
  private readonly maxAge: number | undefined;

  constructor(vhostName: string, name: string, options: QueueOptions, host: QueueHost, log?: QueueLog) {
    super(vhostName, name, options, host, log);
    const int = (key: string) => (options.args[key] === undefined ? undefined : Number(options.args[key].value));
    this.maxSegmentSize = int('x-stream-max-segment-size-bytes') ?? DEFAULT_SEGMENT_SIZE;
    this.maxBytes = int('x-max-length-bytes');
    const age = options.args['x-max-age'];
    const parsed = age === undefined ? undefined : parseAge(Buffer.from(age.value as string | Buffer).toString('utf8'));
    this.maxAge = typeof parsed === 'number' ? parsed : undefined;
    if (log) this.recover(log);
  }

  /** Messages come back with their offsets (kept in the log's expiry field, which streams do not use). */
  private recover(log: QueueLog): void {
    for (const m of log.read(Infinity, Infinity)) {
      this.nextOffset = m.expiresAt;
      this.append(m.message, m.ref, ++this.chunk);
    }
  }

  private get length(): number {
    return this.entries.length - this.start;
  }

  override get messageCount(): number {
    return this.length;
  }

  /** RabbitMQ reports no consumers for a stream. */
  override get consumerCount(): number {
    return 0;
  }

  override get hasExclusiveConsumer(): boolean {
    return false;
  }

  override get overloaded(): boolean {
    return false;
  }

  override enqueue(message: Message): Enqueued {
    if (!this.chunkOpen) {
      this.chunkOpen = true;
      this.chunk++;
      setImmediate(this.closeChunk);
    }
    this.counters.published++;
    this.counters.publishedBytes += message.body.length;
    const ref = this.log ? this.log.append(message, this.nextOffset, true) : -1;
    this.append(message, ref, this.chunk);
    this.dispatch();
    return this.log === undefined ? Enqueued.Taken : ref < 0 ? Enqueued.NotStored : Enqueued.Stored;
  }

  private append(message: Message, ref: number, chunk: number): void {
    const now = this.clock.now();
    const entry: StreamEntry = { offset: this.nextOffset++, chunk, timestamp: now, message, ref };
    this.entries.push(entry);
    const size = message.header.length + message.body.length + (this.segments.length === 0 || chunk !== this.lastChunk ? CHUNK_OVERHEAD : 0);
    let segment = this.segments[this.segments.length - 1];
    if (segment === undefined || segment.bytes >= this.maxSegmentSize) {
      segment = { firstOffset: entry.offset, bytes: 0, lastTimestamp: now };
      this.segments.push(segment);
      this.applyRetention(now);
    }
    segment.bytes += size;
    segment.lastTimestamp = now;
  }

  private get lastChunk(): number {
    return this.length > 1 ? this.entries[this.entries.length - 2].chunk : -1;
  }

  /** When a segment starts, whole old segments go while the stream is over its size or age limits. */
  private applyRetention(now: number): void {
    const total = () => this.segments.reduce((n, s) => n + s.bytes, 0);
    while (this.segments.length > 1) {
      const oldest = this.segments[0];
      const tooBig = this.maxBytes !== undefined && total() > this.maxBytes;
      const tooOld = this.maxAge !== undefined && now - oldest.lastTimestamp > this.maxAge;
      if (!tooBig && !tooOld) break;
      this.segments.shift();
      const keepFrom = this.segments[0].firstOffset;
      while (this.start < this.entries.length && this.entries[this.start].offset < keepFrom) {
        const e = this.entries[this.start++];
        if (e.ref >= 0) this.log!.remove(e.ref);
      }
    }
    if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries.splice(0, this.start);
      this.start = 0;
    }
  }

  override assertGettable(): void {
    unsupported('basic.get', this);
  }

  override assertPurgeable(): void {
    unsupported('queue.purge', this);
  }

  override assertRejectable(): void {
    unsupported('basic.nack and basic.reject', this);
  }

  /** RabbitMQ's channel crashes putting stream deliveries back. */
  override assertRecoverable(): void {
    throw internalError();
  }

  /** A stream goes whatever it holds, and reports nothing. */
  override deletion(): number {
    return 0;
  }

  /**
   * The offset first, then the argument checks, then what a stream consumer needs: its own prefetch,
   * manual acks, and no channel-wide prefetch.
   */
  protected override consumerStart(args: FieldTable, credit: ConsumerCredit): StreamStart {
    const start = parseStreamOffset(args['x-stream-offset'], this.description, this.clock.now());
    validateConsumerArgs(this.description, this.type, args);
    if (credit.prefetch === 0) throw preconditionFailed(`consumer prefetch count is not set for '${this.description}'`);
    if (credit.noAck) unsupported('automatic acknowledgement', this);
    if (credit.channelPrefetch !== 0) throw notImplemented(`${this.description} does not support global qos`);
    return start;
  }

  /** A consumer starts where its x-stream-offset says. */
  override attach(consumer: Consumer, from: unknown): void {
    this.readers.set(consumer, { next: this.resolve(from as StreamStart), chunk: -1 });
    this.addConsumer(consumer);
  }

  private resolve(from: StreamStart): number {
    const first = this.length === 0 ? this.nextOffset : this.entries[this.start].offset;
    switch (from.kind) {
      case 'first':
        return first;
      case 'next':
        return this.nextOffset;
      case 'last': {
        if (this.length === 0) return this.nextOffset;
        const lastChunk = this.entries[this.entries.length - 1].chunk;
        let i = this.entries.length - 1;
        while (i > this.start && this.entries[i - 1].chunk === lastChunk) i--;
        return this.entries[i].offset;
      }
      case 'offset':
        return Math.max(first, from.offset);
      case 'time': {
        // the first chunk written at or after the time
        for (let i = this.start; i < this.entries.length; i++) if (this.entries[i].timestamp >= from.at) return this.entries[i].offset;
        return this.nextOffset;
      }
    }
  }

  override addConsumer(c: Consumer): void {
    this.consumers.push(c);
    this.dispatch();
  }

  override removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i >= 0) this.consumers.splice(i, 1);
    this.readers.delete(c);
  }

  override dispatch(): void {
    for (const c of this.consumers) {
      const reader = this.readers.get(c)!;
      const first = this.length === 0 ? this.nextOffset : this.entries[this.start].offset;
      if (reader.next < first) reader.next = first;
      while (reader.next < this.nextOffset) {
        const e = this.entries[this.start + reader.next - first];
        if (e.chunk !== reader.chunk && !c.ready()) break;
        reader.chunk = e.chunk;
        reader.next++;
        const entry = { message: streamed(e.message, e.offset), seq: e.offset, redelivered: false, expiresAt: 0, deliveryCount: 0, ref: -1 };
        this.handedOut(entry, true, false);
        c.deliver(this, entry);
      }
    }
  }

  /** Nothing is taken from a stream, or put back: acks only give credit back. */
  override settle(entries: QueuedMessage[], how: Settlement): void {
    this.unacked -= entries.length;
    for (const e of entries) this.unackedBytes -= e.message.body.length;
    if (how === 'ack') this.counters.acked += entries.length;
  }

  /** Everything retained counts as ready, in memory (the log holds a copy). */
  override get lengths(): Queue['lengths'] {
    const bytes = this.segments.reduce((n, s) => n + s.bytes, 0);
    return { ready: this.length, readyBytes: bytes, resident: this.length, residentBytes: bytes, pagedOut: 0, pagedOutBytes: 0 };
  }

}

/**
 * A message as a stream hands it out: with its x-stream-offset header (a long), and without the table
 * and array headers RabbitMQ's stream format drops.
 */
function streamed(m: Message, offset: number): Message {
  const headers: FieldTable = {};
  for (const [key, value] of Object.entries(m.properties.headers ?? {})) if (value.type !== 'F' && value.type !== 'A') headers[key] = value;
  headers['x-stream-offset'] = { type: 'l', value: offset };
  return new Message(m.exchange, m.routingKey, contentHeaderOf({ ...m.properties, headers: sortedTable(headers) }, m.body.length), m.body);
}
