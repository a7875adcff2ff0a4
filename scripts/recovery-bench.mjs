#!/usr/bin/env node
// Recovery time: fills a durable queue with persistent messages (confirmed), kills the broker with
// SIGKILL, and times the restart until it accepts connections and reports the whole queue.
//   node scripts/recovery-bench.mjs [--messages 1000000] [--size 100]
// Needs a build (dist/). Prints a JSON summary; exits 1 when the count after recovery is wrong.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { spawnWarren } from './spawn-warren.mjs';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '1000000' }, size: { type: 'string', default: '100' } } });
const total = Number(values.messages);
const size = Number(values.size);
const QUEUE = 'recovery-bench';
const dataDir = mkdtempSync(join(tmpdir(), 'warren-recovery-'));


const first = await spawnWarren(dataDir);
const conn = await amqp.connect(first.url);
conn.on('error', () => {}); // the broker is killed under it
const ch = await conn.createConfirmChannel();
await ch.assertQueue(QUEUE, { durable: true });
const body = Buffer.alloc(size, 0x62);
const fillStarted = Date.now();
let sent = 0;
let confirmed = 0;
await new Promise((resolve, reject) => {
  const pump = () => {
    while (sent < total && sent - confirmed < 5000) {
      sent++;
      ch.sendToQueue(QUEUE, body, { persistent: true }, (err) => {
        if (err) return reject(err);
        if (++confirmed === total) resolve();
        else if (sent - confirmed < 2500) pump();
      });
    }
  };
  pump();
});
const fillSeconds = (Date.now() - fillStarted) / 1000;
first.child.kill('SIGKILL');
await new Promise((r) => first.child.once('exit', r));

const second = await spawnWarren(dataDir);
const conn2 = await amqp.connect(second.url);
const ch2 = await conn2.createChannel();
const { messageCount } = await ch2.checkQueue(QUEUE);
const readyMs = Number(process.hrtime.bigint() - second.started) / 1e6;
await conn2.close();
second.child.kill('SIGTERM');
await new Promise((r) => second.child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
const summary = {
  messages: total, size, fillSeconds, fillMsgPerSec: Math.round(total / fillSeconds),
  recoveryToListeningMs: Math.round(second.listeningMs), recoveryToQueueReadyMs: Math.round(readyMs), recovered: messageCount,
};
console.log(JSON.stringify(summary));
process.exit(messageCount === total ? 0 : 1);
