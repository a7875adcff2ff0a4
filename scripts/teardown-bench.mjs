#!/usr/bin/env node
// Connection teardown cost: opens N connections that each own an exclusive queue, then closes them
// all at once and reports the wall time until every close-ok came back and the broker CPU it took.
//   node scripts/teardown-bench.mjs [--connections 10000] [--cli dist/cli/main.js]
// Needs a build. Prints a JSON summary; exits 1 when a queue outlives its connection.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { spawnWarren } from './spawn-warren.mjs';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '10000' }, cli: { type: 'string' } } });
const total = Number(values.connections);
const BATCH = 250;

/** CPU seconds the process has used (user + system), from /proc. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const broker = await spawnWarren(mkdtempSync(join(tmpdir(), 'warren-teardown-')), values.cli && resolve(values.cli));
const conns = [];
try {
  for (let i = 0; i < total; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, total - i) }, async (_, k) => {
        const conn = await amqp.connect(broker.url, { noDelay: true });
        const ch = await conn.createChannel();
        await ch.assertQueue(`teardown-${i + k}`, { exclusive: true });
        return conn;
      }),
    );
    conns.push(...batch);
  }
  const cpuBefore = cpuSeconds(broker.child.pid);
  const started = process.hrtime.bigint();
  await Promise.all(conns.map((c) => c.close()));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = cpuSeconds(broker.child.pid) - cpuBefore;
  // every exclusive queue went with its connection
  const check = await amqp.connect(broker.url);
  let left = 0;
  for (const name of ['teardown-0', `teardown-${total - 1}`]) {
    const probe = await check.createChannel();
    probe.on('error', () => {});
    await probe.checkQueue(name).then(() => left++, () => {});
  }
  await check.close();
  console.log(JSON.stringify({ connections: total, closeWallMs: Math.round(wallMs), brokerCpuSeconds: Number(cpu.toFixed(2)), queuesLeft: left }));
  process.exitCode = left === 0 ? 0 : 1;
} finally {
  broker.child.kill('SIGKILL');
}
