#!/usr/bin/env node
// Before and after: Warren builds side by side (and RabbitMQ when installed), with the load generator
// in ../shared/bench, each round running the brokers in turn and the next round in reverse (ABBA),
// so that a drifting machine weighs on all of them alike. Prints the markdown report.
//   node bench/compare.mjs [--baseline OLD/dist/cli/main.js] [--observed] [--api] [--rounds 2] [--only t1,t2]
// --observed adds this build run with every observation channel subscribed (bench/observe.mjs).
// --api runs this build with its management API and without (--no-management), and while the one
// with it is under load asks it for GET /api/overview every --api-poll ms (1000; 0: never), printing
// those latencies.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDir, root, run, startRabbit, startWarren, url, warrenCli, RABBIT_PORT } from './lib.mjs';

const { values: opts } = parseArgs({
  options: { baseline: { type: 'string' }, observed: { type: 'boolean', default: false }, api: { type: 'boolean', default: false }, 'api-poll': { type: 'string', default: '1000' }, rounds: { type: 'string', default: '2' }, only: { type: 'string', default: 't1,t2' } },
});

const suiteLines = run(process.execPath, [join(benchDir, 'suite.mjs'), 'list']).trim().split('\n');
const tests = opts.only.split(',').map((prefix) => {
  const line = suiteLines.find((l) => l.endsWith(`# ${prefix}`) || new RegExp(`# ${prefix}-`).test(l));
  if (!line) throw new Error(`no suite test ${prefix}`);
  const id = line.split('# ')[1].trim();
  // "node bench.mjs <scenario> <args> --pid $PID --json $OUT/x.json": keep the scenario and its arguments
  const args = line.split(/\s+/).slice(2).filter((a, i, all) => !['--pid', '--json'].includes(a) && !['--pid', '--json'].includes(all[i - 1]));
  return { id, args: args.filter((a) => !a.startsWith('#') && a !== id) };
});

const brokers = [];
const rabbitPid = startRabbit();
if (rabbitPid !== undefined) brokers.push({ label: 'rabbitmq', url: url(RABBIT_PORT), pid: rabbitPid });
let port = 5691;
const started = [];
if (opts.baseline) {
  const child = await startWarren(port, resolve(opts.baseline));
  started.push(child);
  brokers.push({ label: 'warren-before', url: url(port++), pid: child.pid });
}
const MANAGEMENT_PORT = 15691;
{
  const child = await startWarren(port, warrenCli, [], opts.api ? ['--management-port', String(MANAGEMENT_PORT)] : ['--no-management']);
  started.push(child);
  brokers.push({ label: opts.api ? 'warren-api' : 'warren', url: url(port++), pid: child.pid, api: opts.api });
}
if (opts.api) {
  const child = await startWarren(port, warrenCli, [], ['--no-management']);
  started.push(child);
  brokers.push({ label: 'warren-no-api', url: url(port++), pid: child.pid });
}
if (opts.observed) {
  const child = await startWarren(port, warrenCli, ['--import', join(root, 'bench', 'observe.mjs')]);
  started.push(child);
  brokers.push({ label: 'warren-observed', url: url(port++), pid: child.pid });
}

const out = mkdtempSync(join(tmpdir(), 'warren-compare-'));
/** GET /api/overview every second while `running`, the latencies in ms. */
async function pollOverview(running) {
  const latencies = [];
  const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
  while (running.on) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${MANAGEMENT_PORT}/api/overview`, { headers: auth });
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, Number(opts['api-poll'])));
  }
  return latencies;
}
const overviewLatencies = [];
const benchRun = async (test, broker, round) => {
  const running = { on: broker.api === true && Number(opts['api-poll']) > 0 };
  const polling = running.on ? pollOverview(running) : Promise.resolve([]);
  await runOne(test, broker, round);
  running.on = false;
  overviewLatencies.push(...(await polling));
};
const runOne = (test, broker, round) =>
  new Promise((done) => {
    const file = join(out, `${broker.label}__${test.id}__r${round}.json`);
    const args = [join(benchDir, 'bench.mjs'), ...test.args, '--url', broker.url, '--label', broker.label, '--tag', test.id, '--json', file, '--quiet', '--pid', String(broker.pid)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', done);
  });
try {
  for (const test of tests) {
    for (let round = 1; round <= Number(opts.rounds); round++) {
      for (const broker of round % 2 === 1 ? brokers : [...brokers].reverse()) {
        console.error(`${test.id} round ${round}: ${broker.label}`);
        await benchRun(test, broker, round);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }
} finally {
  for (const child of started) child.kill('SIGTERM');
}
console.log(run(process.execPath, [join(benchDir, 'suite.mjs'), 'report', out, '--markdown', '--base', brokers[0].label]));
if (overviewLatencies.length > 0) {
  const sorted = [...overviewLatencies].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  console.log(`GET /api/overview under load: ${sorted.length} requests, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`);
}
