#!/usr/bin/env node
// `npm run bench`: Warren beside RabbitMQ (when installed) on this machine, with the independent load
// generator in ../shared/bench, alternating runs (ABBA). Writes a markdown table to bench/results/
// (not committed: figures worth keeping go into docs/).
//   node bench/run.mjs [--rounds N] [--only t1,t4] [--smoke]
// --smoke: one short t1 run against Warren alone, failing unless the loss check passes (used by npm test).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDir, root, rssMb, run, startRabbit, startWarren, url, warrenCli, RABBIT_PORT } from './lib.mjs';

const { values: opts } = parseArgs({
  options: { rounds: { type: 'string', default: '1' }, only: { type: 'string' }, smoke: { type: 'boolean', default: false } },
});

const WARREN_PORT = 5673;
const STARTUP_PORT = 5675;
const RABBIT_STARTUP_PORT = 5686;

async function smoke() {
  const warren = await startWarren(WARREN_PORT);
  try {
    const out = run(process.execPath, [join(benchDir, 'bench.mjs'), 'throughput', '--url', url(WARREN_PORT), '--pid', String(warren.pid), '--duration', '2', '--warmup', '1', '--quiet']);
    process.stdout.write(out);
    if (!/check\s+PASS/.test(out)) throw new Error('loss check did not pass');
  } finally {
    warren.kill('SIGTERM');
  }
}

/** bench.mjs startup's median line for a command that starts a broker on `port`. */
function startupMedian(port, cmd, repeat) {
  const out = run(process.execPath, [join(benchDir, 'bench.mjs'), 'startup', '--url', url(port), '--repeat', String(repeat), '--cmd', cmd]);
  return /ready \(median[^\n]*/.exec(out)?.[0] ?? out.trim().split('\n').pop();
}

async function suite() {
  run('npm', ['run', 'build']);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const out = join(root, 'bench', 'results', stamp);
  mkdirSync(out, { recursive: true });
  const only = opts.only ? ['--only', opts.only] : [];

  const warrenStartup = startupMedian(STARTUP_PORT, `exec node ${warrenCli} --port ${STARTUP_PORT} --log-level warn --data-dir ${mkdtempSync(join(tmpdir(), 'warren-startup-'))}`, 5);
  const rabbitPid = startRabbit();
  let rabbitStartup;
  if (rabbitPid !== undefined) {
    const home = mkdtempSync(join(tmpdir(), 'rabbitmq-startup-'));
    rabbitStartup = startupMedian(RABBIT_STARTUP_PORT, `exec ${join(root, 'bench', 'rabbitmq-startup.sh')} ${RABBIT_STARTUP_PORT} ${home}`, 3);
    rmSync(home, { recursive: true, force: true });
  }
  const warren = await startWarren(WARREN_PORT);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(warren.pid);
  const rabbitIdleRss = rabbitPid ? rssMb(rabbitPid) : undefined;
  try {
    if (rabbitPid !== undefined) {
      run(process.execPath, [join(benchDir, 'suite.mjs'), 'ab', '--a-label', 'rabbitmq', '--a-url', url(RABBIT_PORT), '--a-pid', rabbitPid,
        '--b-label', 'warren', '--b-url', url(WARREN_PORT), '--b-pid', String(warren.pid), '--rounds', opts.rounds, '--out', out, ...only], { stdio: ['ignore', 'inherit', 'inherit'] });
    } else {
      run(process.execPath, [join(benchDir, 'suite.mjs'), 'run', '--label', 'warren', '--url', url(WARREN_PORT), '--pid', String(warren.pid), '--rounds', opts.rounds, '--out', out, ...only], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    }
  } finally {
    warren.kill('SIGTERM');
  }
  const table = run(process.execPath, [join(benchDir, 'suite.mjs'), 'report', out, '--markdown', ...(rabbitPid !== undefined ? ['--base', 'rabbitmq'] : [])]);
  const recovery = JSON.parse(run(process.execPath, [join(root, 'scripts', 'recovery-bench.mjs'), '--messages', '1000000']));
  const md = [
    `# Warren benchmark, ${new Date().toISOString()}`,
    '',
    `Machine: ${run('nproc').trim()} cores; node ${process.version}; rounds ${opts.rounds}; load generator ../shared/bench (default client).`,
    '',
    table.trim(),
    '',
    '## Start-up and idle memory',
    '',
    'Start-up: spawn to a completed AMQP handshake (bench.mjs startup; Warren with a data directory, RabbitMQ with the management plugin as rabbitmq-local runs it).',
    '',
    '| broker | start-up to accepting connections | idle RSS |',
    '| --- | --- | --- |',
    `| warren | ${warrenStartup} | ${idleRss.toFixed(1)} MB |`,
    ...(rabbitStartup !== undefined ? [`| rabbitmq | ${rabbitStartup} | ${rabbitIdleRss?.toFixed(1) ?? '?'} MB |`] : []),
    '',
    '## Recovery (scripts/recovery-bench.mjs)',
    '',
    `${recovery.messages.toLocaleString('en')} persistent messages of ${recovery.size} B in one durable queue, filled with confirms at ` +
      `${recovery.fillMsgPerSec.toLocaleString('en')} msg/s; after kill -9 the restarted broker accepted connections in ${recovery.recoveryToListeningMs} ms ` +
      `and reported the whole queue ${recovery.recoveryToQueueReadyMs} ms after it was spawned.`,
    '',
  ].join('\n');
  writeFileSync(join(out, 'README.md'), md);
  writeFileSync(join(root, 'bench', 'results', 'latest.md'), md);
  console.log(md);
}

await (opts.smoke ? smoke() : suite());
