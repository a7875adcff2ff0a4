#!/usr/bin/env node
// The testing toolkit's figures (issue 12): from nothing to a connected amqplib client and back to
// nothing, in-process, as a process, and RabbitMQ started as testcontainers starts it (its server in
// the foreground, waited for until it takes connections); reset() with 100 queues and 10,000
// messages; a dead-letter retry with a 30 s TTL on the manual clock against real time.
//   node bench/toolkit.mjs [--runs 10] [--no-rabbit] [--no-real-ttl]
import amqp from 'amqplib';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBroker } from '../dist/index.js';
import { hasRabbit, root, warrenCli } from './lib.mjs';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '10' }, 'no-rabbit': { type: 'boolean', default: false }, 'no-real-ttl': { type: 'boolean', default: false } } });
const runs = Number(opts.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;
const time = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const connectAndClose = async (url) => (await amqp.connect(url, { noDelay: true })).close();
const report = [];

// in-process
const inProcess = [];
for (let i = 0; i < runs; i++) {
  inProcess.push(
    await time(async () => {
      const broker = await startBroker();
      await connectAndClose(broker.url);
      await broker.close();
    }),
  );
}
report.push(`| startBroker() → connected amqplib client → closed | ${ms(median(inProcess))} |`);

// as a process
const asProcess = [];
for (let i = 0; i < runs; i++) {
  asProcess.push(
    await time(async () => {
      const child = spawn(process.execPath, [warrenCli, '--port', '0', '--print-url', '--in-memory', '--no-management', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const [line] = await once(child.stdout, 'data');
      await connectAndClose(String(line).split('\n')[0]);
      child.kill('SIGTERM');
      await once(child, 'exit');
    }),
  );
}
report.push(`| \`warren --port 0 --print-url --in-memory\` process → connected → exited | ${ms(median(asProcess))} |`);

// RabbitMQ, as testcontainers runs it: the server in the foreground, waited for until it takes connections
if (!opts['no-rabbit'] && hasRabbit()) {
  const rabbit = [];
  for (let i = 0; i < 3; i++) {
    const home = mkdtempSync(join(tmpdir(), 'rabbit-toolkit-'));
    const port = 5790;
    rabbit.push(
      await time(async () => {
        const child = spawn(join(root, 'bench', 'rabbitmq-startup.sh'), [String(port), home], { stdio: 'ignore' });
        for (;;) {
          const up = await new Promise((resolve) => {
            const s = createConnection(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
            s.on('error', () => resolve(false));
          });
          if (up) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        // the port opens a little before the broker takes logins: retry as a client would
        for (;;) {
          try {
            await connectAndClose(`amqp://guest:guest@127.0.0.1:${port}`);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        child.kill('SIGTERM');
        await once(child, 'exit');
      }),
    );
    rmSync(home, { recursive: true, force: true });
  }
  report.push(`| RabbitMQ 3.10.8 server started → connected → stopped (median of 3) | ${ms(median(rabbit))} |`);
}

// reset() with 100 queues and 10,000 messages
const resets = [];
const broker = await startBroker();
const conn = await amqp.connect(broker.url, { noDelay: true });
for (let i = 0; i < 5; i++) {
  const ch = await conn.createConfirmChannel();
  for (let q = 0; q < 100; q++) await ch.assertQueue(`q${q}`, { durable: true });
  for (let m = 0; m < 10_000; m++) ch.sendToQueue(`q${m % 100}`, Buffer.alloc(100));
  await ch.waitForConfirms();
  await ch.close();
  const queued = broker.inspect.queues().reduce((n, q) => n + q.messages, 0);
  if (queued !== 10_000) throw new Error(`expected 10,000 messages, found ${queued}`);
  const t = performance.now();
  broker.reset({ connections: 'keep' });
  resets.push(performance.now() - t);
}
await conn.close();
await broker.close();
report.push(`| reset() with 100 queues and 10,000 messages | ${resets.map((r) => r.toFixed(2)).join(', ')} ms (median ${ms(median(resets))}) |`);

// a dead-letter retry with a 30 s TTL: the same test on the manual clock and in real time
async function retryTest(clock) {
  const b = await startBroker({ clock });
  const c = await amqp.connect(`${b.url}?heartbeat=0`, { noDelay: true });
  const ch = await c.createChannel();
  await ch.assertQueue('work');
  await ch.assertQueue('retry', { arguments: { 'x-message-ttl': 30_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'work' } });
  const wall = await time(async () => {
    ch.sendToQueue('retry', Buffer.from('job'));
    await b.waitFor.queue('retry', { messages: 1 });
    if (clock === 'manual') b.clock.advance(30_000);
    await b.waitForMessage('work', () => true, { timeout: 40_000 });
  });
  await c.close();
  await b.close();
  return wall;
}
const manual = await retryTest('manual');
report.push(`| dead-letter retry after a 30 s TTL, manual clock | ${ms(manual)} |`);
if (!opts['no-real-ttl']) report.push(`| the same, real time | ${ms(await retryTest(undefined))} |`);

console.log(`| measured (median of ${runs} unless said) | wall time |\n|---|---|\n${report.join('\n')}`);
