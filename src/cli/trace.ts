// `warren trace FILE`: a frame trace written by --trace, printed for a person, filtered by connection,
// channel or method.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatTrace } from '../testing/frame-trace.js';

const USAGE = 'Usage: warren trace FILE [--connection N] [--channel N] [--method NAME]\n';

export async function traceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { connection: { type: 'string' }, channel: { type: 'string' }, method: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new Error(`warren trace needs one trace file (written by --trace FILE)\n${USAGE}`.trimEnd());
  const number = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`--${name} ${v}: a number is expected`);
    return Number(v);
  };
  const filter = { connection: number('connection', values.connection), channel: number('channel', values.channel), method: values.method };
  let text: string;
  try {
    text = await readFile(positionals[0], 'utf8');
  } catch (err) {
    throw new Error(`cannot read the trace file ${positionals[0]}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  process.stdout.write(formatTrace(text, filter));
  return 0;
}
