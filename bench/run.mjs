#!/usr/bin/env node
// `npm run bench`: Warren beside RabbitMQ (when installed) on this machine, with the independent load
// generator in ../shared/bench, alternating runs (ABBA). Writes a markdown table to bench/results/.
//   node bench/run.mjs [--rounds N] [--only t1,t4] [--smoke]
// --smoke: one short t1 run against Warren alone, failing unless the loss check passes (used by npm test).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = process.env.WARREN_BENCH_DIR ?? join(root, '..', 'shared', 'bench');
const rabbitTool = join(root, '..', 'shared', 'tools', 'rabbitmq-local');
const { values: opts } = parseArgs({
  options: { rounds: { type: 'string', default: '1' }, only: { type: 'string' }, smoke: { type: 'boolean', default: false } },
});

const WARREN_PORT = 5673;
const STARTUP_PORT = 5675;
const RABBIT_PORT = 5682;
const url = (port) => `amqp://guest:guest@127.0.0.1:${port}/`;

function run(cmd, args, options = {}) {
  return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

/** Starts Warren from dist/ and resolves its pid once it accepts connections. */
async function startWarren(port) {
  const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), '--port', String(port), '--log-level', 'warn', '--data-dir', mkdtempSync(join(tmpdir(), 'warren-bench-'))], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    try {
      run(process.execPath, ['-e', `const s=require('net').connect(${port},'127.0.0.1',()=>process.exit(0));s.on('error',()=>process.exit(1))`]);
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error('Warren did not start');
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function rabbitPid() {
  const home = process.env.RMQ_HOME ?? join(process.env.TMPDIR ?? '/tmp', `rabbitmq-local-${RABBIT_PORT}`);
  const file = join(home, 'pid');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function hasRabbit() {
  try {
    run('sh', ['-c', 'command -v rabbitmq-server']);
    return true;
  } catch {
    return false;
  }
}

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

async function suite() {
  run('npm', ['run', 'build']);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const out = join(root, 'bench', 'results', stamp);
  mkdirSync(out, { recursive: true });
  const only = opts.only ? ['--only', opts.only] : [];

  const startup = run(process.execPath, [
    join(benchDir, 'bench.mjs'), 'startup', '--url', url(STARTUP_PORT), '--repeat', '5',
    '--cmd', `exec node ${join(root, 'dist', 'cli', 'main.js')} --port ${STARTUP_PORT} --log-level warn --data-dir ${mkdtempSync(join(tmpdir(), 'warren-startup-'))}`,
  ]);
  const warren = await startWarren(WARREN_PORT);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(warren.pid);
  let rabbitIdleRss;
  try {
    if (hasRabbit()) {
      run(rabbitTool, ['start'], { stdio: ['ignore', 'inherit', 'inherit'] });
      const pid = rabbitPid();
      rabbitIdleRss = pid ? rssMb(pid) : undefined;
      run(process.execPath, [join(benchDir, 'suite.mjs'), 'ab', '--a-label', 'rabbitmq', '--a-url', url(RABBIT_PORT), ...(pid ? ['--a-pid', pid] : []),
        '--b-label', 'warren', '--b-url', url(WARREN_PORT), '--b-pid', String(warren.pid), '--rounds', opts.rounds, '--out', out, ...only], { stdio: ['ignore', 'inherit', 'inherit'] });
    } else {
      run(process.execPath, [join(benchDir, 'suite.mjs'), 'run', '--label', 'warren', '--url', url(WARREN_PORT), '--pid', String(warren.pid), '--rounds', opts.rounds, '--out', out, ...only], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    }
  } finally {
    warren.kill('SIGTERM');
  }
  const table = run(process.execPath, [join(benchDir, 'suite.mjs'), 'report', out, '--markdown', ...(rabbitIdleRss !== undefined ? ['--base', 'rabbitmq'] : [])]);
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
    '| broker | start-up to accepting connections | idle RSS |',
    '| --- | --- | --- |',
    `| warren | ${/ready \(median[^\n]*/.exec(startup)?.[0] ?? startup.trim().split("\n").pop()} | ${idleRss.toFixed(1)} MB |`,
    ...(rabbitIdleRss !== undefined ? [`| rabbitmq | (about 3.5 s here, see ../shared/bench/README.md) | ${rabbitIdleRss.toFixed(1)} MB |`] : []),
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
