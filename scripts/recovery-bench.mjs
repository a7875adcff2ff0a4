#!/usr/bin/env node
// Recovery time: fills a durable queue with persistent messages (confirmed), kills the broker with
// SIGKILL, and times the restart until it accepts connections and reports the whole queue.
//   node scripts/recovery-bench.mjs [--messages 1000000] [--size 100]
// Needs a build (dist/). Prints a JSON summary; exits 1 when the count after recovery is wrong.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { messages: { type: 'string', default: '1000000' }, size: { type: 'string', default: '100' } } });
const total = Number(values.messages);
const size = Number(values.size);
const QUEUE = 'recovery-bench';
const dataDir = mkdtempSync(join(tmpdir(), 'warren-recovery-'));

function startBroker() {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve({ child, started, url: `amqp://guest:guest@127.0.0.1:${m[1]}/`, listeningMs: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
}

const first = await startBroker();
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

const second = await startBroker();
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
