// Primitive AMQP types over Buffers: a bounds-checked Reader and a growable Writer.
import { isUtf8 } from 'node:buffer';
import type { Decimal, FieldTable, FieldValue } from './field-table.js';

/** Raised when a payload is shorter than its fields or a field is malformed. */
export class DecodeError extends Error {}

/**
 * Raised for anything wrong inside a field table (an unknown type, an entry running past the table's
 * end): RabbitMQ's parse_table has no clause for it and its reader crashes, where a payload too short
 * for its fields is an orderly "cannot decode".
 */
export class TableError extends DecodeError {}

/** A method's short string that is not UTF-8 as Erlang's xmerl_ucs reads it (RabbitMQ's assert_utf8). */
export class Utf8Error extends DecodeError {}

/**
 * UTF-8 as xmerl_ucs:from_utf8 takes it: sequences of up to four bytes, no overlong forms, but
 * surrogates and code points up to 0x1FFFFF allowed (Node's isUtf8 refuses those two).
 */
export function isErlangUtf8(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // continuation bytes after the lead, and the least code point that needs that many
    const n = c >= 0xf8 ? -1 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
    if (n < 0 || i + n >= end) return false;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const next = b[i + k];
      if ((next & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    if (cp < (n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000)) return false;
    i += n + 1;
  }
  return true;
}

const TWO_32 = 0x100000000;

/** Whatever goes wrong inside a table is RabbitMQ's crash, not its "cannot decode". */
function asTableError(err: unknown): unknown {
  return err instanceof DecodeError && !(err instanceof TableError) ? new TableError(err.message) : err;
}

function toNumber64(hi: number, lo: number, signed: boolean): number | bigint {
  const value = (signed ? hi | 0 : hi) * TWO_32 + lo;
  if (Number.isSafeInteger(value)) return value;
  return signed ? (BigInt(hi | 0) << 32n) | BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

export class Reader {
  /** Reads only the layout: tables are stepped over by their length, short strings taken as they are. */
  layoutOnly = false;

  constructor(
    public buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError('payload too short');
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  octet(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  short(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  long(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64 bits; values above 2^53 lose precision (delivery tags and timestamps never get there). */
  longlong(): number {
    this.need(8);
    const v = this.buf.readUInt32BE(this.pos) * TWO_32 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  timestamp(): number {
    return this.longlong();
  }

  shortstr(): string {
    const len = this.octet();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** A short string RabbitMQ requires to be UTF-8: every one in a method that carries no content. */
  utf8shortstr(): string {
    const start = this.pos + 1;
    const s = this.shortstr();
    if (!this.layoutOnly && !isErlangUtf8(this.buf, start, this.pos)) throw new Utf8Error('Malformed UTF-8 in shortstr');
    return s;
  }

  /** A slice of the payload, not a copy. */
  longstr(): Buffer {
    const len = this.long();
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  table(): FieldTable {
    const outer = this.enter();
    const table: FieldTable = Object.create(null);
    if (this.layoutOnly) {
      this.pos = this.end;
      this.end = outer;
      return table;
    }
    try {
      while (this.pos < this.end) {
        const key = this.shortstr();
        table[key] = this.fieldValue();
      }
    } catch (err) {
      throw asTableError(err);
    } finally {
      this.end = outer;
    }
    return table;
  }

  private array(): FieldValue[] {
    const outer = this.enter();
    const values: FieldValue[] = [];
    try {
      while (this.pos < this.end) values.push(this.fieldValue());
    } catch (err) {
      throw asTableError(err);
    } finally {
      this.end = outer;
    }
    return values;
  }

  /** Reads a table's or array's length and bounds the reader to it (its entries must fill it); returns the old bound. */
  private enter(): number {
    const len = this.long();
    this.need(len);
    const outer = this.end;
    this.end = this.pos + len;
    return outer;
  }

  private bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  fieldValue(): FieldValue {
    const type = this.octet();
    const b = this.buf;
    switch (type) {
      case 0x74: // t
        return { type: 't', value: this.octet() !== 0 };
      case 0x62: // b
        this.need(1);
        return { type: 'b', value: b.readInt8(this.pos++) };
      case 0x42: // B
        return { type: 'B', value: this.octet() };
      case 0x73: // s
        this.need(2);
        this.pos += 2;
        return { type: 's', value: b.readInt16BE(this.pos - 2) };
      case 0x75: // u
        return { type: 'u', value: this.short() };
      case 0x49: // I
        this.need(4);
        this.pos += 4;
        return { type: 'I', value: b.readInt32BE(this.pos - 4) };
      case 0x69: // i
        return { type: 'i', value: this.long() };
      case 0x6c: // l
      case 0x4c: // L: RabbitMQ reads it as l too
        this.need(8);
        this.pos += 8;
        return { type: 'l', value: toNumber64(b.readUInt32BE(this.pos - 8), b.readUInt32BE(this.pos - 4), true) };
      case 0x54: // T
        this.need(8);
        this.pos += 8;
        return { type: 'T', value: toNumber64(b.readUInt32BE(this.pos - 8), b.readUInt32BE(this.pos - 4), false) };
      case 0x66: // f
        this.need(4);
        this.pos += 4;
        return { type: 'f', value: b.readFloatBE(this.pos - 4) };
      case 0x64: // d
        this.need(8);
        this.pos += 8;
        return { type: 'd', value: b.readDoubleBE(this.pos - 8) };
      case 0x44: {
        // D
        const scale = this.octet();
        const value: Decimal = { scale, value: this.long() };
        return { type: 'D', value };
      }
      case 0x53: {
        // S: a UTF-8 string when it is one, else the raw bytes (RabbitMQ's longstr is binary)
        const raw = this.bytes(this.long());
        return { type: 'S', value: isUtf8(raw) ? raw.toString('utf8') : raw };
      }
      case 0x78: // x
        return { type: 'x', value: this.bytes(this.long()) };
      case 0x41: // A
        return { type: 'A', value: this.array() };
      case 0x46: // F
        return { type: 'F', value: this.table() };
      case 0x56: // V
        return { type: 'V', value: null };
      default:
        throw new TableError(`unknown field type 0x${type.toString(16)}`);
    }
  }
}

/**
 * Steps over encoded values without decoding them: each takes the value's offset and the end of what
 * holds it, and gives the offset after it, or -1 when it is malformed as the Reader would find it.
 */
export const skip = {
  octet: (_b: Buffer, o: number, end: number) => (o + 1 <= end ? o + 1 : -1),
  timestamp: (_b: Buffer, o: number, end: number) => (o + 8 <= end ? o + 8 : -1),
  shortstr: (b: Buffer, o: number, end: number) => (o < end && o + 1 + b[o] <= end ? o + 1 + b[o] : -1),
  table: (b: Buffer, o: number, end: number) => skipEntries(b, o, end, true),
};

function skipEntries(b: Buffer, o: number, end: number, named: boolean): number {
  if (o + 4 > end) return -1;
  const stop = o + 4 + b.readUInt32BE(o);
  if (stop > end) return -1;
  o += 4;
  while (o < stop) {
    if (named && (o = skip.shortstr(b, o, stop)) < 0) return -1;
    if ((o = skipFieldValue(b, o, stop)) < 0) return -1;
  }
  return o;
}

/** Bytes after the type octet of each fixed-size field type (as Reader.fieldValue reads them); -1 for others. */
const FIXED_SIZE = new Int8Array(256).fill(-1);
for (const [type, size] of Object.entries({ t: 1, b: 1, B: 1, s: 2, u: 2, I: 4, i: 4, f: 4, l: 8, L: 8, T: 8, d: 8, D: 5, V: 0 })) FIXED_SIZE[type.charCodeAt(0)] = size;

function skipFieldValue(b: Buffer, o: number, end: number): number {
  if (o >= end) return -1;
  const type = b[o++];
  switch (type) {
    case 0x53: // S
    case 0x78: {
      // x
      if (o + 4 > end) return -1;
      const next = o + 4 + b.readUInt32BE(o);
      return next <= end ? next : -1;
    }
    case 0x41: // A
      return skipEntries(b, o, end, false);
    case 0x46: // F
      return skipEntries(b, o, end, true);
    default: {
      const size = FIXED_SIZE[type];
      return size >= 0 && o + size <= end ? o + size : -1;
    }
  }
}

/** Buffers at least this big are referenced by `ref()` rather than copied. */
const REF_THRESHOLD = 2048;

/**
 * A growable output buffer. Bytes handed out by `take()` are never rewritten; `ref()` queues a large
 * buffer by reference between the written bytes, and `drain()` returns everything in order.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  /** Start of the bytes not yet taken. */
  start = 0;
  private queued: Buffer[] = [];
  private queuedBytes = 0;

  constructor(private readonly chunkSize = 16384) {
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  /** Makes room for n more bytes, moving the untaken bytes into a new chunk if needed. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.chunkSize, (pending + n) * 2));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** The bytes written since the last take; they stay valid while later writes go elsewhere. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  /** Appends `b` without copying it when it is large; it must not change until drained and written. */
  ref(b: Buffer): void {
    if (b.length < REF_THRESHOLD) return this.bytes(b);
    if (this.pos > this.start) this.queue(this.take());
    this.queue(b);
  }

  /** Everything written since the last drain, in order, as a list of buffers. */
  drain(): Buffer[] {
    const out = this.queued;
    if (this.pos > this.start) out.push(this.take());
    this.queued = [];
    this.queuedBytes = 0;
    return out;
  }

  private queue(b: Buffer): void {
    this.queued.push(b);
    this.queuedBytes += b.length;
  }

  /** How many bytes wait to be drained. */
  get pendingBytes(): number {
    return this.pos - this.start + this.queuedBytes;
  }

  /** Whether nothing waits to be drained. */
  get empty(): boolean {
    return this.pos === this.start && this.queued.length === 0;
  }

  octet(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  short(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  long(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  longlong(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
    else {
      this.buf.writeUInt32BE(Math.floor(v / TWO_32) >>> 0, this.pos);
      this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    }
    this.pos += 8;
  }

  timestamp(v: number | bigint): void {
    this.longlong(v);
  }

  shortstr(s: string): void {
    const len = Buffer.byteLength(s);
    if (len > 255) throw new RangeError(`shortstr too long (${len} bytes)`);
    this.ensure(1 + len);
    this.buf[this.pos++] = len;
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  longstr(v: Buffer | string): void {
    if (typeof v === 'string') {
      const len = Buffer.byteLength(v);
      this.ensure(4 + len);
      this.buf.writeUInt32BE(len, this.pos);
      this.pos += 4;
      this.pos += this.buf.write(v, this.pos, 'utf8');
    } else {
      this.long(v.length);
      this.bytes(v);
    }
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  table(t: FieldTable): void {
    this.ensure(4);
    // `ensure` may move the pending bytes to a new chunk: remember the length's place relative to start
    const lenOffset = this.pos - this.start;
    this.pos += 4;
    for (const key of Object.keys(t)) {
      this.shortstr(key);
      this.fieldValue(t[key]);
    }
    this.patchLength(lenOffset);
  }

  /** Writes the byte count that follows a 4-byte length field at `lenOffset` (relative to start). */
  patchLength(lenOffset: number): void {
    const lenPos = this.start + lenOffset;
    this.buf.writeUInt32BE(this.pos - lenPos - 4, lenPos);
  }

  fieldValue(f: FieldValue): void {
    this.ensure(9);
    this.buf[this.pos++] = f.type.charCodeAt(0);
    const b = this.buf;
    switch (f.type) {
      case 't':
        b[this.pos++] = f.value ? 1 : 0;
        return;
      case 'b':
        b.writeInt8(f.value, this.pos++);
        return;
      case 'B':
        b[this.pos++] = f.value;
        return;
      case 's':
        b.writeInt16BE(f.value, this.pos);
        this.pos += 2;
        return;
      case 'u':
        b.writeUInt16BE(f.value, this.pos);
        this.pos += 2;
        return;
      case 'I':
        b.writeInt32BE(f.value, this.pos);
        this.pos += 4;
        return;
      case 'i':
        b.writeUInt32BE(f.value, this.pos);
        this.pos += 4;
        return;
      case 'l':
        b.writeBigInt64BE(BigInt(f.value), this.pos);
        this.pos += 8;
        return;
      case 'T':
        b.writeBigUInt64BE(BigInt(f.value), this.pos);
        this.pos += 8;
        return;
      case 'f':
        b.writeFloatBE(f.value, this.pos);
        this.pos += 4;
        return;
      case 'd':
        b.writeDoubleBE(f.value, this.pos);
        this.pos += 8;
        return;
      case 'D':
        b[this.pos++] = f.value.scale;
        b.writeUInt32BE(f.value.value, this.pos);
        this.pos += 4;
        return;
      case 'S':
        this.longstr(f.value);
        return;
      case 'x':
        this.longstr(f.value);
        return;
      case 'A': {
        const lenOffset = this.pos - this.start;
        this.pos += 4;
        for (const v of f.value) this.fieldValue(v);
        this.patchLength(lenOffset);
        return;
      }
      case 'F':
        this.table(f.value);
        return;
      case 'V':
        return;
    }
  }
}
