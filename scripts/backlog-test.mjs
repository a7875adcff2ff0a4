#!/usr/bin/env node
// Backlog test: publishes a backlog larger than the broker should hold in memory (persistent
// messages, durable queue, confirms), then attaches a consumer and drains it, sampling the broker's
// RSS throughout.
//   node scripts/backlog-test.mjs [--gb 5] [--size 65536] [--max-rss-mb 1024]
// Needs a build (dist/). Prints a JSON summary; exits 1 when a message is missing or RSS went over.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { spawnWarren } from './spawn-warren.mjs';

const { values } = parseArgs({
  options: {
    gb: { type: 'string', default: '5' },
    size: { type: 'string', default: '65536' },
    'max-rss-mb': { type: 'string', default: '1024' },
  },
});
const size = Number(values.size);
const total = Math.floor((Number(values.gb) * 2 ** 30) / size);
const maxRssMb = Number(values['max-rss-mb']);
const QUEUE = 'backlog-test';
const dataDir = mkdtempSync(join(tmpdir(), 'warren-backlog-'));

const { child, url } = await spawnWarren(dataDir);

let maxRss = 0;
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssMb())), 100);

const started = Date.now();
const conn = await amqp.connect(url);
const pub = await conn.createConfirmChannel();
await pub.assertQueue(QUEUE, { durable: true });
const body = Buffer.alloc(size, 0x61);
const WINDOW = Math.max(16, Math.floor((64 << 20) / size)); // about 64 MB unconfirmed at a time
let sent = 0;
let confirmed = 0;
await new Promise((resolve, reject) => {
  const pump = () => {
    while (sent < total && sent - confirmed < WINDOW) {
      body.writeUInt32BE(sent, 0);
      sent++;
      pub.publish('', QUEUE, body, { persistent: true }, (err) => {
        if (err) return reject(err);
        confirmed++;
        if (confirmed === total) resolve();
        else pump();
      });
    }
  };
  pump();
});
const publishedAt = Date.now();
const rssAfterPublish = rssMb();
const maxRssPublishing = maxRss;

const sub = await conn.createChannel();
await sub.prefetch(100);
let next = 0;
let outOfOrder = 0;
await new Promise((resolve) => {
  sub.consume(QUEUE, (m) => {
    if (m.content.readUInt32BE(0) !== next) outOfOrder++;
    next++;
    sub.ack(m);
    if (next === total) resolve();
  });
});
const drainedAt = Date.now();
clearInterval(sampler);
await conn.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });

const gb = (total * size) / 2 ** 30;
const summary = {
  messages: total, messageBytes: size, gb: Number(gb.toFixed(2)),
  publishSeconds: (publishedAt - started) / 1000, publishMBps: Math.round((total * size) / 2 ** 20 / ((publishedAt - started) / 1000)),
  drainSeconds: (drainedAt - publishedAt) / 1000, drainMBps: Math.round((total * size) / 2 ** 20 / ((drainedAt - publishedAt) / 1000)),
  maxRssMbPublishing: Math.round(maxRssPublishing), rssMbAfterPublish: Math.round(rssAfterPublish), maxRssMb: Math.round(maxRss), outOfOrder,
};
console.log(JSON.stringify(summary));
process.exit(outOfOrder === 0 && maxRss <= maxRssMb ? 0 : 1);
