// Field tables as the wire carries them: every value keeps its AMQP type, so a table read from a
// client can be written back byte for byte and errors can name the type as RabbitMQ does.

export type FieldType = 't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'D' | 'S' | 'A' | 'T' | 'F' | 'V' | 'x';

export interface Decimal {
  scale: number;
  value: number;
}

export type FieldValue =
  | { type: 't'; value: boolean }
  | { type: 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'f' | 'd'; value: number }
  | { type: 'l' | 'T'; value: number | bigint }
  | { type: 'D'; value: Decimal }
  | { type: 'S'; value: string | Buffer }
  | { type: 'x'; value: Buffer }
  | { type: 'A'; value: FieldValue[] }
  | { type: 'F'; value: FieldTable }
  | { type: 'V'; value: null };

export interface FieldTable {
  [key: string]: FieldValue;
}

/** RabbitMQ's names for the field types, as its error texts print them. */
export const FIELD_TYPE_NAMES: Readonly<Record<FieldType, string>> = {
  t: 'bool', b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'signedint', i: 'unsignedint',
  l: 'long', f: 'float', d: 'double', D: 'decimal', S: 'longstr', A: 'array', T: 'timestamp', F: 'table',
  V: 'void', x: 'binary',
};

export type PlainValue = string | number | bigint | boolean | null | Buffer | PlainValue[] | { [key: string]: PlainValue };

/** Types a plain JS value the way RabbitMQ's own clients do: integers as signed 32 or 64 bit, others as double. */
export function toFieldValue(v: PlainValue): FieldValue {
  if (v === null) return { type: 'V', value: null };
  switch (typeof v) {
    case 'string':
      return { type: 'S', value: v };
    case 'boolean':
      return { type: 't', value: v };
    case 'bigint':
      return { type: 'l', value: v };
    case 'number':
      if (!Number.isInteger(v)) return { type: 'd', value: v };
      return v >= -0x80000000 && v <= 0x7fffffff ? { type: 'I', value: v } : { type: 'l', value: v };
  }
  if (Buffer.isBuffer(v)) return { type: 'x', value: v };
  if (Array.isArray(v)) return { type: 'A', value: v.map(toFieldValue) };
  return { type: 'F', value: toFieldTable(v) };
}

export function toFieldTable(plain: { [key: string]: PlainValue }): FieldTable {
  const table: FieldTable = Object.create(null);
  for (const key of Object.keys(plain)) table[key] = toFieldValue(plain[key]);
  return table;
}

/** True for the integer types: RabbitMQ accepts any of them where an argument wants a number. */
export function isIntegerField(f: FieldValue | undefined): f is Extract<FieldValue, { value: number | bigint }> {
  return f !== undefined && 'bBsuIilT'.includes(f.type);
}
