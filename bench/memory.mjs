#!/usr/bin/env node
// An embedded in-memory broker's RSS with a long queue (issue 12): N messages of 100 B published
// into one queue (classic, or x-max-priority with --priority), confirmed, left there.
//   node bench/memory.mjs [--messages 1000000] [--priority]
import amqp from 'amqplib';
import { parseArgs } from 'node:util';
import { startBroker } from '../dist/index.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '1000000' }, priority: { type: 'boolean', default: false } } });
const total = Number(values.messages);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const before = process.memoryUsage.rss();
const broker = await startBroker();
const conn = await amqp.connect(broker.url, { noDelay: true });
const ch = await conn.createConfirmChannel();
await ch.assertQueue('long', values.priority ? { arguments: { 'x-max-priority': 9 } } : {});
const body = Buffer.alloc(100);
let peak = 0;
for (let sent = 0; sent < total; ) {
  for (let i = 0; i < 10_000 && sent < total; i++, sent++) ch.sendToQueue('long', body, { priority: values.priority ? sent % 10 : undefined });
  await ch.waitForConfirms();
  peak = Math.max(peak, process.memoryUsage.rss());
}
global.gc?.();
const q = broker.inspect.queue('long');
const paged = broker.inspect.peek('long', { limit: 0 }).pagedOut;
console.log(`${total.toLocaleString()} × 100 B in one ${values.priority ? 'priority ' : ''}queue: ${q.messages.toLocaleString()} messages, ${paged.toLocaleString()} paged out; RSS ${mb(before)} before, peak ${mb(peak)}, end ${mb(process.memoryUsage.rss())}`);
await conn.close();
await broker.close();
