// Property tests: everything the codec writes it reads back, and amqplib reads and writes the same bytes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, Reader, TableError, Writer, isErlangUtf8 } from '../../src/protocol/codec.js';
import type { FieldTable, FieldValue } from '../../src/protocol/field-table.js';
import { decodeContentHeader, decodeMethod, encodeMethodFrame, writeContentHeader } from '../../src/protocol/frames.js';
import { METHODS, PROPERTY_NAMES, decodeProperties, propertiesEnd, type BasicProperties, type Method } from '../../src/protocol/generated/spec.js';
// @ts-expect-error the generator is plain JavaScript
import { loadSpec } from '../../spec/generate.mjs';

// amqplib's encoder is internal (not in its exports map): load it by file path
const require = createRequire(import.meta.url);
const amqplibLib = join(dirname(require.resolve('amqplib')), 'lib');
const amqplibDefs = require(join(amqplibLib, 'defs.js'));
const amqplibCodec = require(join(amqplibLib, 'codec.js'));

const shortstr = fc.string({ maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 255);
const int = (min: number, max: number) => fc.integer({ min, max });

const fieldValue: fc.Memo<FieldValue> = fc.memo((depth) =>
  fc.oneof(
    fc.boolean().map((value) => ({ type: 't', value }) as FieldValue),
    int(-128, 127).map((value) => ({ type: 'b', value }) as FieldValue),
    int(0, 255).map((value) => ({ type: 'B', value }) as FieldValue),
    int(-32768, 32767).map((value) => ({ type: 's', value }) as FieldValue),
    int(0, 65535).map((value) => ({ type: 'u', value }) as FieldValue),
    fc.integer().map((value) => ({ type: 'I', value }) as FieldValue),
    int(0, 0xffffffff).map((value) => ({ type: 'i', value }) as FieldValue),
    fc.maxSafeInteger().map((value) => ({ type: 'l', value }) as FieldValue),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((v) => !Number.isSafeInteger(Number(v))).map((value) => ({ type: 'l', value }) as FieldValue),
    fc.float({ noNaN: true }).map((value) => ({ type: 'f', value: Math.fround(value) }) as FieldValue),
    fc.double({ noNaN: true }).map((value) => ({ type: 'd', value }) as FieldValue),
    fc.record({ scale: int(0, 255), value: int(0, 0xffffffff) }).map((value) => ({ type: 'D', value }) as FieldValue),
    fc.string().map((value) => ({ type: 'S', value }) as FieldValue),
    fc.uint8Array({ maxLength: 20 }).map((b) => ({ type: 'x', value: Buffer.from(b) }) as FieldValue),
    int(0, Number.MAX_SAFE_INTEGER).map((value) => ({ type: 'T', value }) as FieldValue),
    fc.constant({ type: 'V', value: null } as FieldValue),
    ...(depth > 2
      ? []
      : [
          fc.array(fieldValue(depth + 1), { maxLength: 4 }).map((value) => ({ type: 'A', value }) as FieldValue),
          fieldTable(depth + 1).map((value) => ({ type: 'F', value }) as FieldValue),
        ]),
  ),
);
function fieldTable(depth = 0): fc.Arbitrary<FieldTable> {
  return fc.dictionary(shortstr, fieldValue(depth), { maxKeys: 5 }).map((d) => Object.assign(Object.create(null), d));
}

const argOf: Record<string, fc.Arbitrary<unknown>> = {
  bit: fc.boolean(),
  octet: int(0, 255),
  short: int(0, 65535),
  long: int(0, 0xffffffff),
  longlong: fc.maxSafeInteger().map(Math.abs),
  timestamp: fc.maxSafeInteger().map(Math.abs),
  shortstr,
  longstr: fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b)),
  table: fieldTable(),
};

const spec = loadSpec() as { classes: { methods: { key: number; args: { prop: string; type: string }[] }[] }[] };
const argTypes = new Map(spec.classes.flatMap((c) => c.methods.map((m) => [m.key, m.args] as const)));

/** A method with random arguments of the right types, for every method the spec defines. */
function methodArb(): fc.Arbitrary<Method> {
  return fc.constantFrom(...METHODS.keys()).chain((id) => {
    const shape: Record<string, fc.Arbitrary<unknown>> = {};
    for (const a of argTypes.get(id)!) shape[a.prop] = argOf[a.type];
    return fc.record(shape).map((args) => ({ id, args }) as Method);
  });
}

function roundTripTable(t: FieldTable): FieldTable {
  const w = new Writer(16);
  w.table(t);
  return new Reader(Buffer.concat(w.drain())).table();
}

describe('codec', () => {
  it('round-trips field tables of every type', () => {
    fc.assert(
      fc.property(fieldTable(), (t) => {
        expect(roundTripTable(t)).toEqual(t);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips every method with random arguments', () => {
    fc.assert(
      fc.property(methodArb(), int(0, 65535), (m, channel) => {
        const frame = encodeMethodFrame(channel, m.id, m.args as never);
        expect(frame.readUInt16BE(1)).toBe(channel);
        expect(frame.readUInt32BE(3)).toBe(frame.length - 8);
        expect(decodeMethod(frame.subarray(7, -1))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips content headers with any subset of the 14 basic properties', () => {
    const props = fc.record(
      {
        contentType: shortstr, contentEncoding: shortstr, headers: fieldTable(), deliveryMode: int(0, 255), priority: int(0, 255),
        correlationId: shortstr, replyTo: shortstr, expiration: shortstr, messageId: shortstr,
        timestamp: int(0, Number.MAX_SAFE_INTEGER), type: shortstr, userId: shortstr, appId: shortstr, clusterId: shortstr,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(props, fc.maxSafeInteger().map(Math.abs), (p: BasicProperties, size) => {
        const w = new Writer();
        writeContentHeader(w, 1, size, p);
        const frame = Buffer.concat(w.drain());
        const h = decodeContentHeader(frame.subarray(7, -1));
        expect(h.bodySize).toBe(size);
        expect(h.classId).toBe(60);
        expect(h.properties).toEqual(p);
      }),
    );
    expect(PROPERTY_NAMES).toHaveLength(14);
  });

  it('writes the same method frames as amqplib, and reads what amqplib writes', () => {
    fc.assert(
      fc.property(methodArb(), (m) => {
        fc.pre(amqplibCanEncode(m.args));
        // amqplib types table values by its own rules; compare tables through its own encoder
        const args = toAmqplibArgs(m.args as Record<string, unknown>);
        const theirs: Buffer = amqplibDefs.encodeMethod(m.id, 3, args);
        const ours = decodeMethod(theirs.subarray(7, -1))!;
        const reencoded = encodeMethodFrame(3, ours.id, ours.args as never);
        expect(reencoded).toEqual(theirs);
        expect(amqplibDefs.decode(m.id, reencoded.subarray(11, -1))).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it('reads tables amqplib writes, with their types', () => {
    const buf = Buffer.alloc(1024);
    const len = amqplibCodec.encodeTable(buf, { s: 'str', n: 7, big: 2 ** 40, f: 1.5, b: true, bin: Buffer.from([1, 2]), arr: [1, 'a'], nested: { x: null } }, 0);
    const t = new Reader(buf.subarray(0, len)).table();
    expect(t.s).toEqual({ type: 'S', value: 'str' });
    expect(t.n).toEqual({ type: 'b', value: 7 });
    expect(t.big).toEqual({ type: 'l', value: 2 ** 40 });
    expect(t.f).toEqual({ type: 'd', value: 1.5 });
    expect(t.b).toEqual({ type: 't', value: true });
    expect(t.bin).toEqual({ type: 'x', value: Buffer.from([1, 2]) });
    expect(t.arr).toEqual({ type: 'A', value: [{ type: 'b', value: 1 }, { type: 'S', value: 'a' }] });
    expect(t.nested).toEqual({ type: 'F', value: Object.assign(Object.create(null), { x: { type: 'V', value: null } }) });
    const w = new Writer();
    w.table(t);
    expect(Buffer.concat(w.drain())).toEqual(buf.subarray(0, len));
  });

  it('rejects short payloads, overlong tables and unknown field types', () => {
    expect(() => new Reader(Buffer.from([0, 0, 0, 9, 1, 0x61])).table()).toThrow();
    expect(() => new Reader(Buffer.from([0, 0, 0, 3, 1, 0x61, 0x5a])).table()).toThrow(/unknown field type/);
    expect(() => new Reader(Buffer.from([5, 0x61])).shortstr()).toThrow();
  });

  it('tells a table longer than its payload (DecodeError) from a fault inside one (TableError)', () => {
    const thrown = (bytes: number[]) => {
      try {
        new Reader(Buffer.from(bytes)).table();
      } catch (err) {
        return err;
      }
    };
    const tooLong = thrown([0, 0, 0, 9, 1, 0x61]);
    expect(tooLong).toBeInstanceOf(DecodeError);
    expect(tooLong).not.toBeInstanceOf(TableError);
    // an unknown type; a longstr running past the table's end though not past the payload's
    expect(thrown([0, 0, 0, 3, 1, 0x61, 0x5a])).toBeInstanceOf(TableError);
    expect(thrown([0, 0, 0, 7, 1, 0x61, 0x53, 0, 0, 0, 5, 0x62, 0x62, 0x62, 0x62, 0x62])).toBeInstanceOf(TableError);
  });

  it('reads L as a signed 64-bit long, as RabbitMQ does', () => {
    const t = new Reader(Buffer.from([0, 0, 0, 11, 1, 0x6e, 0x4c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])).table();
    expect(t.n).toEqual({ type: 'l', value: -2 });
  });

  it('checks short strings as xmerl_ucs does (surrogates and code points to 0x1FFFFF pass, as they do on RabbitMQ)', () => {
    const ok = (bytes: number[]) => isErlangUtf8(Buffer.from(bytes), 0, bytes.length);
    // each answered as RabbitMQ 3.10.8 answered it as a queue name
    for (const taken of [[0x00], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbf, 0xbe], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf7, 0xbf, 0xbf, 0xbf]]) {
      expect(ok(taken), Buffer.from(taken).toString('hex')).toBe(true);
    }
    for (const refused of [[0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0x80], [0xe0, 0x80, 0xaf], [0xf0, 0x8f, 0xbf, 0xbf], [0x61, 0x80], [0xe2, 0x82]]) {
      expect(ok(refused), Buffer.from(refused).toString('hex')).toBe(false);
    }
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => isErlangUtf8(Buffer.from(s), 0, Buffer.byteLength(s))));
  });

  it('finds the end of the properties exactly where decoding them ends, and fails exactly where decoding fails', () => {
    const props = fc.record(
      { contentType: shortstr, headers: fieldTable(), deliveryMode: int(0, 255), replyTo: shortstr, timestamp: int(0, 2 ** 40), clusterId: shortstr },
      { requiredKeys: [] },
    );
    // a header as written, then cut short, given extra bytes, or with one byte changed
    const damage = fc.oneof(
      fc.constant((b: Buffer) => b),
      fc.nat().map((n) => (b: Buffer) => b.subarray(0, 14 + (n % Math.max(1, b.length - 14)))),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map((extra) => (b: Buffer) => Buffer.concat([b, extra])),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]) => (b: Buffer) => {
        const c = Buffer.from(b);
        if (c.length > 14) c[14 + (at % (c.length - 14))] = v;
        return c;
      }),
    );
    fc.assert(
      fc.property(props, damage, (p: BasicProperties, hurt) => {
        const w = new Writer();
        writeContentHeader(w, 1, 0, p);
        const header = hurt(Buffer.concat(w.drain()).subarray(7, -1));
        const flags = header.readUInt16BE(12);
        let decodedTo = -1;
        try {
          const r = new Reader(header, 14);
          decodeProperties(flags, r);
          decodedTo = r.pos;
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
        expect(propertiesEnd(flags, header, 14, header.length)).toBe(decodedTo);
      }),
      { numRuns: 2000 },
    );
  });
});

/** amqplib's encoder takes plain values: tables as typed `{'!': type, value}` entries. */
function toAmqplibArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    out[k] = v !== null && typeof v === 'object' && !Buffer.isBuffer(v) ? toAmqplibTable(v as FieldTable) : v;
  }
  return out;
}
const AMQPLIB_TYPE: Record<string, string> = {
  t: 'boolean', b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'int', i: 'unsignedint', l: 'long',
  f: 'float', d: 'double', T: 'timestamp', S: 'string', x: 'buffer',
};
function toAmqplibValue(f: FieldValue): unknown {
  switch (f.type) {
    case 'F':
      return toAmqplibTable(f.value);
    case 'A':
      return f.value.map(toAmqplibValue);
    case 'V':
      return null;
    case 'D':
      return { '!': 'decimal', value: { places: f.value.scale, digits: f.value.value } };
    case 'S':
      return typeof f.value === 'string' ? f.value : { '!': 'string', value: f.value };
    case 'x':
      return f.value;
    case 't':
      return f.value;
    default:
      return { '!': AMQPLIB_TYPE[f.type], value: typeof f.value === 'bigint' ? Number(f.value) : f.value };
  }
}
function toAmqplibTable(t: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) out[k] = toAmqplibValue(v);
  return out;
}

/** amqplib has no 64-bit values beyond JS's safe integers, and reads a table key "!" as a type tag. */
function amqplibCanEncode(v: unknown): boolean {
  if (typeof v === 'bigint') return false;
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return true;
  return !Object.hasOwn(v, '!') && Object.values(v).every(amqplibCanEncode);
}
