// Durability: what a broker with a data directory keeps across a restart (and a SIGKILL), and what
// it lets go, seen through amqplib.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/broker/clock.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { waitFor } from '../support/scenario.js';

let dir: string;
let broker: RunningBroker | undefined;
let conn: ChannelModel | undefined;
/** Every broker of a test runs on this clock, started at the same moment whatever the real time. */
let clock: ManualClock;

/** (Re)starts the broker on `dir` and opens a channel to it (no heartbeats: the clock jumps). */
async function start(fresh = false): Promise<Channel> {
  if (fresh) {
    dir = mkdtempSync(join(tmpdir(), 'warren-durable-'));
    clock = new ManualClock(1_700_000_000_000);
  }
  broker = await startBroker({ dataDir: dir, clock });
  conn = await amqp.connect(`${broker.url}?heartbeat=0`);
  conn.on('error', () => {});
  return conn.createChannel();
}

/** Whether a queue or exchange exists, asked on a channel of its own (a 404 closes it). */
async function exists(kind: 'queue' | 'exchange', name: string): Promise<boolean> {
  const ch = await conn!.createChannel();
  ch.on('error', () => {});
  try {
    await (kind === 'queue' ? ch.checkQueue(name) : ch.checkExchange(name));
    await ch.close();
    return true;
  } catch {
    return false;
  }
}

async function restart(): Promise<Channel> {
  await conn?.close().catch(() => {});
  await broker?.close();
  return start();
}

afterEach(async () => {
  await conn?.close().catch(() => {});
  await broker?.close();
  conn = undefined;
  broker = undefined;
});

async function drain(ch: Channel, q: string): Promise<{ body: string; redelivered: boolean }[]> {
  const out = [];
  for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
  return out;
}

const bodies = async (ch: Channel, q: string) => (await drain(ch, q)).map((m) => m.body);

describe('durability', () => {
  it('keeps durable exchanges, queues, bindings and policies; drops transient and exclusive ones', async () => {
    let ch = await start(true);
    await ch.assertExchange('d.topic', 'topic', { durable: true, arguments: { 'alternate-exchange': 'd.ae' } });
    await ch.assertExchange('d.ae', 'fanout', { durable: true });
    await ch.assertExchange('t.x', 'direct', { durable: false });
    await ch.assertQueue('d.q', { durable: true, arguments: { 'x-max-length': 2 } });
    await ch.assertQueue('d.ae.q', { durable: true });
    await ch.assertQueue('t.q', { durable: false });
    await ch.assertQueue('d.excl', { durable: true, exclusive: true });
    await ch.bindQueue('d.q', 'd.topic', 'a.*');
    await ch.bindQueue('d.ae.q', 'd.ae', '');
    await ch.bindExchange('d.ae', 'amq.direct', 'k');
    await ch.bindQueue('t.q', 'd.topic', 'a.*');
    broker!.broker.vhost('/')!.setPolicy({ name: 'ttl', pattern: '^d\\.ae\\.q$', applyTo: 'queues', priority: 0, definition: { 'message-ttl': 60000 } });
    ch = await restart();
    // equivalent declarations succeed; inequivalent ones fail as before the restart
    await ch.assertExchange('d.topic', 'topic', { durable: true, arguments: { 'alternate-exchange': 'd.ae' } });
    await ch.assertQueue('d.q', { durable: true, arguments: { 'x-max-length': 2 } });
    expect([await exists('queue', 't.q'), await exists('queue', 'd.excl'), await exists('exchange', 't.x')]).toEqual([false, false, false]);
    for (const key of ['a.1', 'a.2', 'a.3']) ch.publish('d.topic', key, Buffer.from(key));
    ch.publish('d.topic', 'unrouted', Buffer.from('to the alternate'));
    ch.publish('amq.direct', 'k', Buffer.from('through amq.direct'));
    await ch.checkQueue('d.q');
    expect(await bodies(ch, 'd.q')).toEqual(['a.2', 'a.3']);
    expect(await bodies(ch, 'd.ae.q')).toEqual(['to the alternate', 'through amq.direct']);
    expect([...broker!.broker.vhost('/')!.policies.keys()]).toEqual(['ttl']);
  });

  it('keeps a vhost with its description, tags, default queue type and limits', async () => {
    await start(true);
    const made = broker!.broker.addVhost('dq', { description: 'kept', tags: ['t'], defaultQueueType: 'quorum' });
    broker!.broker.setVhostLimit(made, 'max-queues', 3);
    await restart();
    const v = broker!.broker.vhost('dq')!;
    expect([v.description, v.tags, v.defaultQueueType, [...v.limits]]).toEqual(['kept', ['t'], 'quorum', [['max-queues', 3]]]);
  });

  it('deleted definitions stay deleted', async () => {
    let ch = await start(true);
    await ch.assertExchange('gone.x', 'fanout', { durable: true });
    await ch.assertQueue('gone.q', { durable: true });
    await ch.assertQueue('kept.q', { durable: true });
    await ch.bindQueue('kept.q', 'amq.fanout', '');
    await ch.unbindQueue('kept.q', 'amq.fanout', '');
    await ch.deleteExchange('gone.x');
    await ch.deleteQueue('gone.q');
    ch = await restart();
    expect([await exists('queue', 'gone.q'), await exists('exchange', 'gone.x')]).toEqual([false, false]);
    ch.publish('amq.fanout', '', Buffer.from('x'));
    expect((await ch.checkQueue('kept.q')).messageCount).toBe(0);
  });

  it('keeps persistent messages of durable queues in order; transient messages and non-durable queues are lost', async () => {
    let ch = await start(true);
    await ch.assertQueue('msgs', { durable: true });
    await ch.assertQueue('msgs.t', { durable: false });
    for (let i = 0; i < 6; i++) ch.sendToQueue('msgs', Buffer.from(`m${i}`), { persistent: i % 3 !== 2 });
    ch.sendToQueue('msgs.t', Buffer.from('x'), { persistent: true });
    await ch.checkQueue('msgs');
    ch = await restart();
    expect(await drain(ch, 'msgs')).toEqual(['m0', 'm1', 'm3', 'm4'].map((body) => ({ body, redelivered: false })));
    expect(await exists('queue', 'msgs.t')).toBe(false);
  });

  it('keeps every message of a quorum queue, transient ones too', async () => {
    let ch = await start(true);
    await ch.assertQueue('quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('quorum', Buffer.from('transient'), { persistent: false });
    await ch.checkQueue('quorum');
    ch = await restart();
    expect(await bodies(ch, 'quorum')).toEqual(['transient']);
  });

  it('never brings back acknowledged messages; unacknowledged ones come back redelivered', async () => {
    let ch = await start(true);
    await ch.assertQueue('acks', { durable: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue('acks', Buffer.from(`m${i}`), { persistent: true });
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await ch.get('acks')) as GetMessage);
    ch.ack(got[0]);
    ch.nack(got[2], false, false); // rejected without a dead-letter exchange: gone
    await ch.checkQueue('acks');
    ch = await restart();
    expect(await drain(ch, 'acks')).toEqual([
      { body: 'm1', redelivered: true },
      { body: 'm3', redelivered: false },
      { body: 'm4', redelivered: false },
    ]);
  });

  it('confirms persistent messages, and commits transactions, once they are stored', async () => {
    let ch = await start(true);
    await ch.assertQueue('confirmed', { durable: true });
    const confirm = await conn!.createConfirmChannel();
    for (let i = 0; i < 1000; i++) confirm.sendToQueue('confirmed', Buffer.from(String(i)), { persistent: true });
    await confirm.waitForConfirms();
    const tx = await conn!.createChannel();
    await tx.assertQueue('committed', { durable: true });
    // amqplib has no tx API of its own: tx.select and tx.commit through the raw RPC
    const rpc = (tx as unknown as { rpc(method: number, fields: object, expect: number): Promise<unknown> }).rpc.bind(tx);
    await rpc(0x005a000a, {}, 0x005a000b);
    tx.sendToQueue('committed', Buffer.from('in a transaction'), { persistent: true });
    await rpc(0x005a0014, {}, 0x005a0015);
    ch = await restart();
    expect((await ch.checkQueue('confirmed')).messageCount).toBe(1000);
    expect(await bodies(ch, 'committed')).toEqual(['in a transaction']);
  });

  it('keeps a queue longer than its in-memory window on disk, in order, through a restart', async () => {
    let ch = await start(true);
    await ch.assertQueue('long', { durable: true });
    const confirm = await conn!.createConfirmChannel();
    const n = 30000;
    for (let i = 0; i < n; i++) confirm.sendToQueue('long', Buffer.from(String(i)), { persistent: i % 10 !== 0 });
    await confirm.waitForConfirms();
    expect((await ch.checkQueue('long')).messageCount).toBe(n);
    // a few from the head go before the restart
    const head = await drain(await conn!.createChannel(), 'long').then((all) => all.map((m) => Number(m.body)));
    expect(head).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i++) confirm.sendToQueue('long', Buffer.from(String(i)), { persistent: i % 10 !== 0 });
    await confirm.waitForConfirms();
    ch = await restart();
    const after = (await bodies(ch, 'long')).map(Number);
    expect(after).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 !== 0));
  });

  it('recovers a priority queue in priority order, and messages dead-lettered into a durable queue', async () => {
    let ch = await start(true);
    await ch.assertQueue('prio', { durable: true, arguments: { 'x-max-priority': 5 } });
    await ch.assertQueue('dead', { durable: true });
    await ch.assertQueue('short', { durable: true, arguments: { 'x-message-ttl': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dead' } });
    for (const p of [1, 5, 3]) ch.sendToQueue('prio', Buffer.from(`p${p}`), { persistent: true, priority: p });
    ch.sendToQueue('short', Buffer.from('expired'), { persistent: true });
    await ch.checkQueue('short');
    clock.advance(1);
    expect((await ch.checkQueue('dead')).messageCount).toBe(1);
    ch = await restart();
    expect(await bodies(ch, 'prio')).toEqual(['p5', 'p3', 'p1']);
    const [dead] = await drain(ch, 'dead');
    expect(dead.body).toBe('expired');
  });

  it('keeps the backlog of a non-durable queue out of memory too, and drops it at a restart', async () => {
    let ch = await start(true);
    await ch.assertQueue('transient-backlog', { durable: false });
    const n = 20000;
    for (let i = 0; i < n; i++) ch.sendToQueue('transient-backlog', Buffer.from(String(i)), { persistent: true });
    await ch.checkQueue('transient-backlog');
    expect(readdirSync(join(dir, 'paging'))).toHaveLength(1);
    expect((await bodies(ch, 'transient-backlog')).map(Number)).toEqual(Array.from({ length: n }, (_, i) => i));
    ch = await restart();
    expect(readdirSync(join(dir, 'queues'))).toHaveLength(0);
    expect(await exists('queue', 'transient-backlog')).toBe(false);
  });

  it('frees the disk space of purged and deleted queues', async () => {
    const ch = await start(true);
    await ch.assertQueue('purged', { durable: true });
    await ch.assertQueue('deleted', { durable: true });
    for (let i = 0; i < 20000; i++) {
      ch.sendToQueue('purged', Buffer.alloc(100), { persistent: true });
      ch.sendToQueue('deleted', Buffer.alloc(100), { persistent: true });
    }
    expect((await ch.purgeQueue('purged')).messageCount).toBe(20000);
    expect((await ch.deleteQueue('deleted')).messageCount).toBe(20000);
    ch.sendToQueue('purged', Buffer.from('after'), { persistent: true });
    await ch.checkQueue('purged');
    const queues = join(dir, 'queues');
    const files = () => readdirSync(queues).flatMap((q) => readdirSync(join(queues, q)).filter((f) => f.endsWith('.seg')));
    // emptied segments are deleted with the next write of the log
    await waitFor(() => files().length === 1);
    expect(readdirSync(queues)).toHaveLength(1);
    expect(files()).toEqual([expect.stringMatching(/\.seg$/)]);
    const again = await restart();
    expect(await bodies(again, 'purged')).toEqual(['after']);
  });

  it('expires recovered messages on their original schedule', async () => {
    let ch = await start(true);
    await ch.assertQueue('ttl', { durable: true, arguments: { 'x-message-ttl': 300 } });
    ch.sendToQueue('ttl', Buffer.from('short'), { persistent: true });
    await ch.checkQueue('ttl');
    clock.advance(100); // the broker was down for 100 ms
    ch = await restart();
    clock.advance(199);
    expect((await ch.checkQueue('ttl')).messageCount).toBe(1);
    clock.advance(1);
    expect((await ch.checkQueue('ttl')).messageCount).toBe(0);
  });

  it('keeps users, their permissions, topic permissions and vhosts', async () => {
    await start(true);
    broker!.broker.users.add('alice', 's3cret', ['monitoring']);
    broker!.broker.users.delete('guest');
    broker!.broker.addVhost('other');
    broker!.broker.permissions.set('alice', 'other', { configure: '^in-', write: '.*', read: '.*' });
    broker!.broker.permissions.setTopic({ user: 'alice', vhost: 'other', exchange: 'amq.topic', write: '^alice\\.', read: '.*' });
    broker!.broker.permissions.setTopic({ user: 'alice', vhost: 'other', exchange: 'gone', write: '', read: '' });
    broker!.broker.permissions.clearTopic('alice', 'other', 'gone');
    await restart().catch(() => undefined); // guest is gone: the reconnect in restart() is refused
    expect(broker!.broker.permissions.listTopic()).toEqual([{ user: 'alice', vhost: 'other', exchange: 'amq.topic', write: '^alice\\.', read: '.*' }]);
    const alice = await amqp.connect(`${broker!.url.replace('guest:guest', 'alice:s3cret')}/other`);
    await (await alice.createChannel()).assertQueue('in-other', { durable: true });
    const denied = await alice.createChannel();
    denied.on('error', () => {});
    await expect(denied.assertQueue('elsewhere')).rejects.toThrow(/ACCESS_REFUSED/);
    const topicDenied = await alice.createConfirmChannel();
    topicDenied.on('error', () => {});
    await expect(new Promise((resolve, reject) => topicDenied.publish('amq.topic', 'bob.x', Buffer.from('x'), {}, (err) => (err ? reject(err) : resolve(0))))).rejects.toThrow();
    await alice.close();
    await expect(amqp.connect(broker!.url)).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('refuses a second broker on the same data directory', async () => {
    await start(true);
    await expect(startBroker({ dataDir: dir })).rejects.toThrow(/in use by process/);
  });

  it('loses no confirmed message and redelivers no acked one across SIGKILLs (short crash test)', async () => {
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'crash-test.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--rounds', '4', '--min-ms', '150', '--max-ms', '600']);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ rounds: 4, lost: 0, violations: 0 });
    expect(summary.confirmed).toBeGreaterThan(1000);
  }, 60000);
});
