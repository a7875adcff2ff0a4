// The frame trace: startBroker({ trace }) and `warren --trace FILE` write every frame as a JSON line,
// `warren trace FILE` prints it readably, filtered.
import amqp from 'amqplib';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import type { TraceLine } from '../../src/testing/frame-trace.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = () => mkdtempSync(join(tmpdir(), 'warren-trace-'));
const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine);

/** Connects, publishes one message with a header and gets it back, then closes. */
async function exchange(url: string): Promise<void> {
  const conn = await amqp.connect(url, { noDelay: true });
  const ch = await conn.createChannel();
  await ch.assertQueue('traced', { exclusive: true });
  ch.sendToQueue('traced', Buffer.from('hello trace'), { contentType: 'text/plain', headers: { n: 1 } });
  let got: amqp.GetMessage | false = false;
  while (!got) got = await ch.get('traced', { noAck: true });
  await conn.close();
}

describe('the frame trace', () => {
  it('writes every frame in and out: methods with arguments, headers with properties, body sizes and prefixes', async () => {
    const file = join(dir(), 'frames.jsonl');
    const broker = await startBroker({ trace: file });
    await exchange(broker.url);
    await broker.close();
    const trace = lines(file);
    const methods = trace.filter((l) => l.type === 'method').map((l) => `${l.direction} ${l.method}`);
    expect(methods.slice(0, 6)).toEqual(['out connection.start', 'in connection.start-ok', 'out connection.tune', 'in connection.tune-ok', 'in connection.open', 'out connection.open-ok']);
    expect(methods).toContain('in basic.publish');
    expect(methods).toContain('out basic.get-ok');
    expect(methods.at(-1)).toBe('out connection.close-ok');
    const publish = trace.find((l) => l.method === 'basic.publish')!;
    expect(publish).toMatchObject({ direction: 'in', channel: 1, arguments: { exchange: '', routingKey: 'traced', mandatory: false } });
    expect(typeof publish.time).toBe('number');
    const header = trace.find((l) => l.type === 'header' && l.direction === 'in')!;
    expect(header).toMatchObject({ bodySize: 11, properties: { contentType: 'text/plain', headers: { n: 1 } } });
    expect(trace.find((l) => l.type === 'body' && l.direction === 'out')).toMatchObject({ bodySize: 11, body: 'hello trace', bodyEncoding: 'utf8' });
    // the password never reaches the trace
    expect(JSON.stringify(trace.find((l) => l.method === 'connection.start-ok'))).not.toContain('guest\\u0000guest');
    expect(trace.find((l) => l.method === 'connection.start-ok')!.arguments!.response).toBe('(12 bytes, not traced)');
  });

  it('is written by warren --trace and printed by warren trace, filtered by method or channel', async () => {
    const d = dir();
    const file = join(d, 'frames.jsonl');
    const child = spawn(process.execPath, [cli, '--port', '0', '--print-url', '--in-memory', '--no-management', '--log-level', 'warn', '--trace', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [first] = await once(child.stdout, 'data');
    await exchange(String(first).split('\n')[0]);
    child.kill('SIGTERM');
    await once(child, 'exit');
    const publishes = (await run(process.execPath, [cli, 'trace', file, '--method', 'basic.publish'])).stdout.trimEnd().split('\n');
    expect(publishes).toHaveLength(3);
    expect(publishes[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} conn 1 ch 1 C→S basic\.publish ticket=0 exchange="" routingKey="traced" mandatory=false immediate=false$/);
    expect(publishes[1]).toMatch(/ {3}content header: 11 bytes contentType="text\/plain" headers=\{"n":1\}$/);
    expect(publishes[2]).toMatch(/ {3}body 11 bytes: "hello trace"$/);
    const channelZero = (await run(process.execPath, [cli, 'trace', file, '--channel', '0'])).stdout;
    expect(channelZero).toMatch(/S→C connection\.start /);
    expect(channelZero).not.toMatch(/ basic\.publish /);
  });

  it('says what is wrong with a file that is not a trace', async () => {
    const file = join(dir(), 'not-a-trace');
    writeFileSync(file, '{"time":1}\nnot json\n');
    await expect(run(process.execPath, [cli, 'trace', file])).rejects.toMatchObject({ stderr: 'warren: line 2 is not a trace line (a JSON object written by --trace): not json\n' });
    await expect(run(process.execPath, [cli, 'trace', join(dir(), 'absent')])).rejects.toMatchObject({ stderr: expect.stringMatching(/cannot read the trace file .*absent: no such file/) });
  });
});
