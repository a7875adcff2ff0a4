// Memory and disk alarms: a publishing connection is blocked (connection.blocked) until they clear;
// connections that only consume go on.
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/broker/clock.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { sleep } from '../support/scenario.js';

let broker: RunningBroker | undefined;
afterEach(() => broker?.close());

describe('resource alarms', () => {
  it('blocks a connection that publishes during a memory alarm, and unblocks it when the alarm clears', async () => {
    broker = await startBroker();
    const publisher = await amqp.connect(broker.url);
    const consumer = await amqp.connect(broker.url);
    const pub = await publisher.createChannel();
    const sub = await consumer.createChannel();
    await sub.assertQueue('alarm.q');
    const events: string[] = [];
    publisher.on('blocked', (reason: string) => events.push(`blocked: ${reason}`));
    publisher.on('unblocked', () => events.push('unblocked'));

    broker.broker.alarms.force('memory', true);
    pub.sendToQueue('alarm.q', Buffer.from('first'));
    await once(publisher, 'blocked');
    pub.sendToQueue('alarm.q', Buffer.from('second'));
    await sleep(100);
    // the connection that only consumes is not blocked, and sees only what came before the block
    expect((await sub.checkQueue('alarm.q')).messageCount).toBe(1);
    expect(events).toEqual(['blocked: low on memory']);

    broker.broker.alarms.force('memory', false);
    await once(publisher, 'unblocked');
    await pub.checkQueue('alarm.q');
    expect((await sub.checkQueue('alarm.q')).messageCount).toBe(2);
    expect(events).toEqual(['blocked: low on memory', 'unblocked']);
    await publisher.close();
    await consumer.close();
  });

  it('raises the disk alarm when free space under the data directory is below the limit', async () => {
    broker = await startBroker({ dataDir: mkdtempSync(join(tmpdir(), 'warren-alarm-')), config: { diskFreeLimit: Number.MAX_SAFE_INTEGER, alarmCheckIntervalMs: 50 } });
    const conn = await amqp.connect(broker.url);
    conn.on('error', () => {}); // blocked until the broker closes it
    const ch = await conn.createChannel();
    await sleep(100);
    ch.sendToQueue('nowhere', Buffer.from('x'));
    const [reason] = await once(conn, 'blocked');
    expect(reason).toBe('low on disk');
    expect([...broker.broker.alarms.active]).toEqual(['disk']);
  });

  it('keeps a blocked connection although its heartbeats go unread', async () => {
    broker = await startBroker({ clock: 'manual' });
    const conn = await amqp.connect(`${broker.url}?heartbeat=10`);
    conn.on('error', () => {});
    let closed = false;
    conn.on('close', () => (closed = true));
    const ch = await conn.createChannel();
    broker.broker.alarms.force('memory', true);
    ch.sendToQueue('nowhere', Buffer.from('x'));
    await once(conn, 'blocked');
    (broker.clock as ManualClock).advance(60000); // far more than the two silent heartbeat checks that drop a dead peer
    broker.broker.alarms.force('memory', false);
    await once(conn, 'unblocked');
    await ch.assertQueue('', { exclusive: true }); // the connection still answers
    expect(closed).toBe(false);
    await conn.close();
  }, 10000);

  it('does not block connections that only consume or declare', async () => {
    broker = await startBroker();
    const conn = await amqp.connect(broker.url);
    let blocked = false;
    conn.on('blocked', () => (blocked = true));
    const ch = await conn.createChannel();
    broker.broker.alarms.force('disk', true);
    await ch.assertQueue('still.works');
    await ch.consume('still.works', () => {});
    await ch.checkQueue('still.works');
    expect(blocked).toBe(false);
    broker.broker.alarms.force('disk', undefined);
    await conn.close();
  });
});
