#!/usr/bin/env node
// Crash test: publishes persistent messages with confirms and consumes with acks while the broker is
// killed with SIGKILL at random moments and restarted. Afterwards every confirmed message must be
// there (or have been acked), and no message acked before a crash may be delivered again.
//   node scripts/crash-test.mjs [--rounds 20] [--min-ms 200] [--max-ms 1500]
// Needs a build (dist/). Prints a JSON summary; exits 1 on a violation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { spawnWarren } from './spawn-warren.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    'min-ms': { type: 'string', default: '200' },
    'max-ms': { type: 'string', default: '1500' },
  },
});
const rounds = Number(values.rounds);
const minMs = Number(values['min-ms']);
const maxMs = Number(values['max-ms']);
const QUEUE = 'crash-test';
const dataDir = mkdtempSync(join(tmpdir(), 'warren-crash-'));

const confirmed = new Set();
const acked = new Set();
/** Acks sent whose processing was not confirmed by a reply: those messages may or may not be gone. */
const ackSent = new Set();
const violations = [];
let nextId = 0;
let delivered = 0;
let redelivered = 0;


function onDelivery(id) {
  delivered++;
  if (acked.has(id)) violations.push(`message ${id} was acked before a crash and delivered again`);
}

/** One round: publish and consume until the broker is killed. */
async function round() {
  const { child, url } = await spawnWarren(dataDir);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // publisher and consumer on separate connections, as flow control pauses a publishing connection
  const pubConn = await amqp.connect(url);
  const subConn = await amqp.connect(url);
  pubConn.on('error', () => {});
  subConn.on('error', () => {});
  const pub = await pubConn.createConfirmChannel();
  pub.on('error', () => {});
  await pub.assertQueue(QUEUE, { durable: true });
  const sub = await subConn.createChannel();
  sub.on('error', () => {});
  await sub.prefetch(200);
  let pending = [];
  let acking = false;
  // acks count once a reply that follows them has come back: by then the broker has them written
  const ackPending = () => {
    if (acking || pending.length < 50) return;
    const batch = pending;
    pending = [];
    acking = true;
    for (const b of batch) ackSent.add(Number(b.content.toString()));
    sub.ack(batch[batch.length - 1], true);
    sub.checkQueue(QUEUE).then(
      () => {
        for (const b of batch) acked.add(Number(b.content.toString()));
        acking = false;
        ackPending();
      },
      () => {},
    );
  };
  await sub.consume(QUEUE, (m) => {
    if (!m) return;
    const id = Number(m.content.toString());
    if (m.fields.redelivered) redelivered++;
    onDelivery(id);
    pending.push(m);
    ackPending();
  });
  const killAt = minMs + Math.random() * (maxMs - minMs);
  let publishing = true;
  setTimeout(() => {
    publishing = false;
    child.kill('SIGKILL');
  }, killAt);
  const publishSome = () => {
    if (!publishing) return;
    for (let i = 0; i < 100; i++) {
      const id = nextId++;
      pub.publish('', QUEUE, Buffer.from(String(id)), { persistent: true }, (err) => {
        if (!err) confirmed.add(id);
      });
    }
    setTimeout(publishSome, 5);
  };
  publishSome();
  await exited;
  await new Promise((r) => setTimeout(r, 50));
}

/** After the last crash: everything left in the queue. */
async function drain() {
  const { child, url } = await spawnWarren(dataDir);
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const left = new Set();
  const { messageCount } = await ch.checkQueue(QUEUE);
  for (;;) {
    const m = await ch.get(QUEUE, { noAck: true });
    if (!m) break;
    const id = Number(m.content.toString());
    onDelivery(id);
    left.add(id);
  }
  await conn.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { left, messageCount };
}

const started = Date.now();
for (let i = 0; i < rounds; i++) await round();
const { left, messageCount } = await drain();
let lost = 0;
for (const id of confirmed) {
  if (!ackSent.has(id) && !left.has(id)) {
    lost++;
    if (lost <= 10) violations.push(`confirmed message ${id} is missing`);
  }
}
rmSync(dataDir, { recursive: true, force: true });
const summary = {
  rounds, seconds: (Date.now() - started) / 1000, published: nextId, confirmed: confirmed.size, acked: acked.size,
  delivered, redelivered, leftAfterLastCrash: messageCount, lost, violations: violations.length,
};
console.log(JSON.stringify(summary));
for (const v of violations.slice(0, 20)) console.error(v);
process.exit(violations.length === 0 ? 0 : 1);
