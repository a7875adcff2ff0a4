// RabbitMQ prints some protocol error details with Erlang's `~p`: binaries as <<1,2,3>> or <<"text">>,
// tuples as {a,1}, both wrapped at 80 columns (and one with `~w`: bytes on one line). Clients see those texts verbatim, so Warren prints them
// the same way.

const LINE = 79;

/** Latin-1 printable bytes and the escapes Erlang writes for control characters. */
const ESCAPES: Readonly<Record<number, string>> = { 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\e' };

function isPrintable(b: number): boolean {
  return (b >= 32 && b <= 126) || b >= 160 || ESCAPES[b] !== undefined;
}

/** `~p` of a binary starting at column `col`. */
export function erlBinary(bytes: Buffer, col: number): string {
  if (bytes.length === 0) return '<<>>';
  if (bytes.every(isPrintable)) {
    let s = '';
    for (const b of bytes) {
      if (b === 0x22) s += '\\"';
      else if (b === 0x5c) s += '\\\\';
      else s += ESCAPES[b] ?? String.fromCharCode(b);
    }
    return `<<"${s}">>`;
  }
  const flat = `<<${bytes.join(',')}>>`;
  if (col + flat.length <= LINE + 2) return flat;
  const indent = col + 2;
  let out = '<<';
  let pos = indent;
  bytes.forEach((b, i) => {
    const item = String(b) + (i === bytes.length - 1 ? '>>' : ',');
    if (pos + item.length > LINE && pos > indent) {
      out += '\n' + ' '.repeat(indent);
      pos = indent;
    }
    out += item;
    pos += item.length;
  });
  return out;
}

/** `~p` of a tuple whose elements are already printed (atoms and integers), starting at column `col`. */
export function erlTuple(elements: readonly (string | number)[], col: number): string {
  const flat = `{${elements.join(',')}}`;
  if (col + flat.length <= LINE - 1) return flat;
  const [first, ...rest] = elements;
  return `{${first},\n${' '.repeat(col + 1)}${rest.join(',')}}`;
}

/** The part of a reply text after "CODE - " for a frame RabbitMQ could not accept. */
export function frameErrorDetail(type: number, payload: Buffer, reason?: string | readonly (string | number)[]): string {
  const snippet = payload.length <= 16 ? payload : payload.subarray(0, 16);
  let text = `type ${type}, ${payload.length <= 16 ? 'all' : 'first 16'} octets = `;
  const bin = erlBinary(snippet, text.length);
  text += bin;
  if (reason === undefined) return text;
  text += ': ';
  const col = text.length - (text.lastIndexOf('\n') + 1);
  return text + (typeof reason === 'string' ? reason : erlTuple(reason, col));
}

/** "cannot decode <<...>>": a method's arguments that do not parse, printed with `~w` (bytes, one line). */
export function cannotDecodeDetail(args: Buffer): string {
  return `cannot decode <<${args.join(',')}>>`;
}
