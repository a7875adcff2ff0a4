#!/usr/bin/env node
// GET /api/queues with many queues: Warren's management API (this build, embedded) against RabbitMQ's
// (rabbitmq-local's, when RABBITMQ_MGMT_URL answers). Declares N queues over AMQP, then times five
// full listings and five paged ones (page_size 100), and prints the medians.
//   node bench/api-queues.mjs [--queues 10000]
import amqp from 'amqplib';
import { parseArgs } from 'node:util';
import { startBroker } from '../dist/index.js';

const { values } = parseArgs({ options: { queues: { type: 'string', default: '10000' } } });
const count = Number(values.queues);
const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

async function timeGet(url) {
  const t0 = performance.now();
  const res = await fetch(url, { headers: auth });
  const body = await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return { ms: performance.now() - t0, bytes: body.byteLength };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(label, amqpUrl, mgmtUrl) {
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  const prefix = `api-bench-${process.pid}`;
  for (let i = 0; i < count; i++) ch.assertQueue(`${prefix}-${i}`, { durable: false });
  await ch.assertQueue(`${prefix}-last`, { durable: false });
  const full = [];
  const paged = [];
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const r = await timeGet(`${mgmtUrl}/api/queues`);
    full.push(r.ms);
    bytes = r.bytes;
    paged.push((await timeGet(`${mgmtUrl}/api/queues?page=1&page_size=100`)).ms);
  }
  for (let i = 0; i < count; i++) ch.deleteQueue(`${prefix}-${i}`);
  await ch.deleteQueue(`${prefix}-last`);
  await conn.close();
  console.log(`${label}: ${count} queues, GET /api/queues median ${median(full).toFixed(0)} ms (${(bytes / 1e6).toFixed(1)} MB), paged (100) median ${median(paged).toFixed(0)} ms`);
}

const warren = await startBroker({ management: true });
try {
  await measure('warren', warren.url, warren.managementUrl.replace(/\/\/[^@]*@/, '//'));
} finally {
  await warren.close();
}
const rabbitMgmt = process.env.RABBITMQ_MGMT_URL ?? 'http://127.0.0.1:15682';
const rabbitAmqp = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5682/';
if (await fetch(`${rabbitMgmt}/api/overview`, { headers: auth }).then((r) => r.ok, () => false)) await measure('rabbitmq', rabbitAmqp, rabbitMgmt);
else console.log(`rabbitmq: no management API at ${rabbitMgmt}, not measured`);
