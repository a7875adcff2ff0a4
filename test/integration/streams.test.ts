// Stream behaviour that depends on Warren's own storage: retention by segment (RabbitMQ's exact
// offsets depend on its segment format) and streams kept across a restart.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/broker/clock.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { waitFor } from '../support/scenario.js';

let broker: RunningBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** The offsets of every message a stream holds, read from the first. */
async function readAll(url: string, q: string): Promise<number[]> {
  const conn = await amqp.connect(`${url}?heartbeat=0`);
  const ch = await conn.createChannel();
  await ch.prefetch(1000);
  const { messageCount } = await ch.checkQueue(q);
  const got: ConsumeMessage[] = [];
  await ch.consume(q, (m) => m && got.push(m), { arguments: { 'x-stream-offset': 'first' } });
  await waitFor(() => got.length === messageCount);
  await conn.close();
  return got.map((m) => Number(m.properties.headers!['x-stream-offset']));
}

async function publish(url: string, q: string, n: number, args: Record<string, unknown>, size = 100): Promise<void> {
  const conn = await amqp.connect(`${url}?heartbeat=0`);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(q, Buffer.alloc(size, 0x61));
    await ch.waitForConfirms();
  }
  await conn.close();
}

describe('stream retention and storage', () => {
  it('drops whole old segments once the stream is over x-max-length-bytes, when a new segment starts', async () => {
    broker = await startBroker();
    await publish(broker.url, 'retained', 100, { 'x-max-length-bytes': 1000, 'x-stream-max-segment-size-bytes': 500 });
    const offsets = await readAll(broker.url, 'retained');
    expect(offsets.length).toBeGreaterThan(0);
    expect(offsets.length).toBeLessThan(20);
    expect(offsets[offsets.length - 1]).toBe(99);
    // without segments to drop nothing goes
    await publish(broker.url, 'one-segment', 100, { 'x-max-length-bytes': 1000 });
    expect(await readAll(broker.url, 'one-segment')).toHaveLength(100);
  });

  it('drops segments older than x-max-age when a new segment starts', async () => {
    broker = await startBroker({ clock: 'manual' });
    await publish(broker.url, 'aged', 10, { 'x-max-age': '1s', 'x-stream-max-segment-size-bytes': 500 });
    (broker.clock as ManualClock).advance(1100);
    await publish(broker.url, 'aged', 5, { 'x-max-age': '1s', 'x-stream-max-segment-size-bytes': 500 });
    const offsets = await readAll(broker.url, 'aged');
    // the segment being written when the old ones aged out stays, with the old messages in it
    expect(offsets[0]).toBeGreaterThan(5);
    expect(offsets[offsets.length - 1]).toBe(14);
  });

  it('keeps a stream and its offsets across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-stream-'));
    broker = await startBroker({ dataDir });
    await publish(broker.url, 'kept', 5, {});
    await broker.close();
    broker = await startBroker({ dataDir });
    await publish(broker.url, 'kept', 2, {});
    expect(await readAll(broker.url, 'kept')).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
