// A failing disk never brings the broker down and never confirms what it did not store. Each fault is
// injected through the store's file-system seam (no root, no mounts) on one queue's files, with a
// confirming publisher on that queue and a second, healthy queue beside it.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/broker/clock.js';
import type { Logger } from '../../src/broker/logger.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { FaultyFs } from '../support/faulty-fs.js';
import { waitFor } from '../support/scenario.js';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps what it is given, for tests that assert what the broker said. */
function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) =>
    void lines.push(typeof obj === 'string' ? { level, msg: obj, fields: {} } : { level, msg: msg ?? '', fields: obj as Record<string, unknown> });
  const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger };
  return logger;
}

/** A queue log's directory, as the file store names it. */
const queueDir = (queue: string, vhost = '/') => createHash('sha256').update(vhost).update('\u0000').update(queue).digest('hex').slice(0, 32);
const filesOf = (queue: string, ext: string) => new RegExp(`${queueDir(queue)}/\\d+\\.${ext}$`);

let running: RunningBroker[] = [];
let conns: ChannelModel[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  for (const b of running.splice(0)) await b.close();
});

async function broker(dataDir: string, fs?: FaultyFs, lines: Line[] = []): Promise<RunningBroker> {
  const b = await startBroker({ dataDir, fileSystem: fs, clock: 'manual', logger: recordingLogger(lines) as never, config: { alarmCheckIntervalMs: 1000 } });
  running.push(b);
  return b;
}

async function confirmChannel(b: RunningBroker): Promise<ConfirmChannel> {
  // no heartbeats: the manual clock moves seconds at a time
  const conn = await amqp.connect(`${b.url}?heartbeat=0`);
  conn.on('error', () => {});
  conns.push(conn);
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  return ch;
}

/** Publishes persistent messages and resolves with which were acked and which nacked. */
async function publish(ch: ConfirmChannel, queue: string, bodies: string[]): Promise<{ acked: string[]; nacked: string[] }> {
  const acked: string[] = [];
  const nacked: string[] = [];
  await Promise.all(
    bodies.map(
      (body) =>
        new Promise<void>((resolve) => {
          ch.sendToQueue(queue, Buffer.from(body), { persistent: true }, (err) => {
            (err ? nacked : acked).push(body);
            resolve();
          });
        }),
    ),
  );
  return { acked, nacked };
}

/** Every message in a queue, taken without acks (the queue is left empty). */
async function drain(b: RunningBroker, queue: string): Promise<string[]> {
  const conn = await amqp.connect(`${b.url}?heartbeat=0`);
  conns.push(conn);
  const ch = await conn.createChannel();
  const out: string[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(m.content.toString());
  return out;
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'warren-faults-'));
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('store faults', () => {
  it('nacks what a full disk (ENOSPC) refused, keeps the healthy queue confirming, and carries on once there is room', async () => {
    const dataDir = tempDir();
    const fs = new FaultyFs();
    const lines: Line[] = [];
    const b = await broker(dataDir, fs, lines);
    const clock = b.clock as ManualClock;
    const sick = await confirmChannel(b);
    const healthy = await confirmChannel(b);
    await sick.assertQueue('sick', { durable: true });
    await healthy.assertQueue('healthy', { durable: true });
    expect((await publish(sick, 'sick', ['before'])).acked).toEqual(['before']);

    fs.fail('write', filesOf('sick', 'seg'), 'ENOSPC');
    const during = await publish(sick, 'sick', range('full-', 5));
    expect(during.nacked.sort()).toEqual(range('full-', 5));
    expect(fs.failures.length).toBeGreaterThan(0);
    // the failure is said once, with the file, and publishers are blocked by the disk alarm
    const errors = lines.filter((l) => l.level === 'error' && /queue log write failed \(ENOSPC\)/.test(l.msg));
    expect(errors).toHaveLength(1);
    expect(String(errors[0].fields.path)).toMatch(filesOf('sick', 'seg'));
    expect([...b.broker.alarms.active]).toEqual(['disk']);

    // room again: the next check clears the alarm, the log writes again, both queues confirm
    fs.heal();
    clock.advance(1000);
    expect([...b.broker.alarms.active]).toEqual([]);
    expect((await publish(healthy, 'healthy', ['h1', 'h2'])).acked.sort()).toEqual(['h1', 'h2']);
    expect((await publish(sick, 'sick', ['after'])).acked).toEqual(['after']);

    // what was confirmed survives a restart
    await b.close();
    running = [];
    const again = await broker(dataDir);
    const back = await drain(again, 'sick');
    expect(back).toEqual(expect.arrayContaining(['before', 'after']));
    expect(await drain(again, 'healthy')).toEqual(['h1', 'h2']);
  });

  it('nacks what an fsync that failed (EIO) covered, never retries it into an ack, and keeps the healthy queue confirming', async () => {
    const fs = new FaultyFs();
    const lines: Line[] = [];
    const b = await broker(tempDir(), fs, lines);
    const clock = b.clock as ManualClock;
    const sick = await confirmChannel(b);
    const healthy = await confirmChannel(b);
    await sick.assertQueue('sick', { durable: true });
    await healthy.assertQueue('healthy', { durable: true });
    fs.fail('fsync', filesOf('sick', 'seg'), 'EIO', 1);
    const [sickResult, healthyResult] = await Promise.all([publish(sick, 'sick', range('s', 3)), publish(healthy, 'healthy', range('h', 3))]);
    expect(sickResult).toEqual({ acked: [], nacked: expect.arrayContaining(range('s', 3)) });
    expect(healthyResult.acked.sort()).toEqual(range('h', 3));
    expect(lines.some((l) => l.level === 'error' && /queue log fsync failed \(EIO\)/.test(l.msg))).toBe(true);
    // the log writes to a new segment once the alarm has cleared, and confirms again
    clock.advance(1000);
    expect((await publish(sick, 'sick', ['later'])).acked).toEqual(['later']);
    expect(fs.failures).toEqual([expect.stringMatching(/^fsync /)]);
  });

  it('starts with a queue whose ack file cannot be read (EACCES) left off its disk, the rest working, and recovers it at the next start', async () => {
    const dataDir = tempDir();
    const first = await broker(dataDir);
    const setup = await confirmChannel(first);
    for (const q of ['sick', 'healthy']) {
      await setup.assertQueue(q, { durable: true });
      await publish(setup, q, range(`${q}-`, 3));
    }
    // an ack, so that the sick queue has an ack file saying its first message is gone
    const m = await setup.get('sick');
    setup.ack(m as amqp.GetMessage);
    await setup.checkQueue('sick');
    await first.close();
    running = [];

    const fs = new FaultyFs().fail('read', filesOf('sick', 'ack'), 'EACCES');
    const lines: Line[] = [];
    const second = await broker(dataDir, fs, lines);
    const failed = lines.find((l) => l.level === 'error' && /queue log recover failed \(EACCES\)/.test(l.msg));
    expect(failed && String(failed.fields.path)).toMatch(filesOf('sick', 'ack'));
    const ch = await confirmChannel(second);
    expect((await ch.checkQueue('sick')).messageCount).toBe(0);
    expect((await ch.checkQueue('healthy')).messageCount).toBe(3);
    // nothing is stored in the queue whose log is off its disk: its publisher is nacked
    expect(await publish(ch, 'sick', ['not-stored'])).toEqual({ acked: [], nacked: ['not-stored'] });
    expect(await publish(ch, 'healthy', ['stored'])).toEqual({ acked: ['stored'], nacked: [] });
    await second.close();
    running = [];

    // readable again: the queue comes back as it was, the acked message gone
    const third = await broker(dataDir);
    expect(await drain(third, 'sick')).toEqual(['sick-1', 'sick-2']);
    expect(await drain(third, 'healthy')).toEqual(['healthy-0', 'healthy-1', 'healthy-2', 'stored']);
  });

  it('keeps in memory, in order, the backlog a queue could not page out, and pages it once the disk takes writes', async () => {
    const fs = new FaultyFs();
    const b = await broker(tempDir(), fs);
    const clock = b.clock as ManualClock;
    const ch = await confirmChannel(b);
    await ch.assertQueue('backlog', { durable: true });
    const send = (from: number, to: number) => {
      for (let i = from; i < to; i++) ch.sendToQueue('backlog', Buffer.from(String(i)));
    };
    send(0, 9000); // past the 8192 messages a queue keeps in memory: the rest is paged
    await ch.waitForConfirms();
    fs.fail('write', filesOf('backlog', 'seg'), 'ENOSPC');
    send(9000, 10000);
    // the disk alarm blocks the publisher after the failure; what got in is kept in memory
    await waitFor(() => b.broker.alarms.active.has('disk'));
    fs.heal();
    clock.advance(1000);
    await ch.waitForConfirms();
    expect((await ch.checkQueue('backlog')).messageCount).toBe(10000);
    expect(await drain(b, 'backlog')).toEqual(range('', 10000));
  });

  it('completes a short write, storing every byte', async () => {
    const dataDir = tempDir();
    const fs = new FaultyFs().fail('short-write', filesOf('q', 'seg'), '', 3);
    const b = await broker(dataDir, fs);
    const ch = await confirmChannel(b);
    await ch.assertQueue('q', { durable: true });
    expect((await publish(ch, 'q', range('m', 10))).acked).toHaveLength(10);
    expect(fs.failures.filter((f) => f.startsWith('short-write'))).not.toHaveLength(0);
    await b.close();
    running = [];
    expect(await drain(await broker(dataDir), 'q')).toEqual(range('m', 10));
  });

  it('keeps durable definitions declared while the journal cannot be written, and writes them once it can', async () => {
    const dataDir = tempDir();
    const fs = new FaultyFs().fail('write', /definitions\.log$/, 'ENOSPC');
    const lines: Line[] = [];
    const b = await broker(dataDir, fs, lines);
    const clock = b.clock as ManualClock;
    const ch = await confirmChannel(b);
    await ch.assertQueue('declared-while-full', { durable: true });
    await ch.assertExchange('x-while-full', 'fanout', { durable: true });
    expect(lines.filter((l) => l.level === 'error' && /definitions journal write failed/.test(l.msg))).toHaveLength(1);
    fs.heal();
    clock.advance(1000); // the disk alarm clears: the journal catches up
    await b.close();
    running = [];
    const again = await broker(dataDir);
    const check = await confirmChannel(again);
    await check.checkQueue('declared-while-full');
    await check.checkExchange('x-while-full');
  });
});
