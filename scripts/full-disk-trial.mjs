#!/usr/bin/env node
// The full-disk trial, as a user would run it: a broker (in its own process) whose data directory is
// a 120 MB tmpfs, and a confirming publisher of persistent 64 KB messages into a durable queue until
// the broker blocks it, nacks it, or dies. Then a restart on the same directory counts what came back.
//   node scripts/full-disk-trial.mjs [--limit BYTES] [--dist DIR]
// --limit: the disk free limit (RabbitMQ's 50 MB by default; 0 lets the disk fill). Needs root (mount).
// Prints a JSON summary.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';

const { values } = parseArgs({ options: { limit: { type: 'string', default: '50000000' }, dist: { type: 'string' } } });
const dist = resolve(values.dist ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
const BODY = Buffer.alloc(64 * 1024, 0x61);

/** Starts a broker from `dist` in a child process on `dataDir`; resolves with it and its URL. */
function spawnBroker(dataDir) {
  const code = `import(${JSON.stringify(join(dist, 'index.js'))}).then(async ({ startBroker }) => {
    const b = await startBroker({ dataDir: ${JSON.stringify(dataDir)}, logLevel: 'error', config: { diskFreeLimit: ${Number(values.limit)} } });
    console.log('url ' + b.url);
  });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolvePromise, reject) => {
    child.stdout.on('data', (d) => {
      const m = /^url (\S+)/m.exec(String(d));
      if (m) resolvePromise({ child, url: m[1], stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`broker exited (${code}): ${stderr}`)));
  });
}

const mount = mkdtempSync(join(tmpdir(), 'warren-trial-'));
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=120m', 'tmpfs', mount]);
try {
  const dataDir = join(mount, 'data');
  const broker = await spawnBroker(dataDir);
  let exited;
  broker.child.once('exit', (code, signal) => (exited = code ?? signal));
  const conn = await amqp.connect(`${broker.url}?heartbeat=0`);
  conn.on('error', () => {});
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  await ch.assertQueue('trial', { durable: true });
  const result = { limit: Number(values.limit), confirmed: 0, nacked: 0, blocked: false, brokerExited: undefined, freeAtEndMb: 0, recovered: 0 };
  conn.on('blocked', () => (result.blocked = true));
  let sent = 0;
  await new Promise((done) => {
    const pump = () => {
      while (sent - result.confirmed - result.nacked < 100 && sent < 2500 && !result.blocked && result.nacked === 0 && exited === undefined) {
        sent++;
        ch.sendToQueue('trial', BODY, { persistent: true }, (err) => {
          if (err) result.nacked++;
          else result.confirmed++;
          pump();
        });
      }
    };
    pump();
    // settled, or quiet for two seconds after a block, a nack or the broker's death
    let last = -1;
    const watch = setInterval(() => {
      const settledNow = result.confirmed + result.nacked;
      if ((settledNow === sent || exited !== undefined || result.blocked || result.nacked > 0) && settledNow === last) {
        clearInterval(watch);
        done();
      }
      last = settledNow;
    }, 2000);
  });
  const settled = { confirmed: result.confirmed, nacked: result.nacked };
  result.brokerExited = exited;
  const stat = execFileSync('df', ['-B1', '--output=avail', mount], { encoding: 'utf8' }).trim().split('\n').pop();
  result.freeAtEndMb = Math.round(Number(stat) / 1e6);
  await conn.close().catch(() => {});
  broker.child.kill('SIGKILL');
  Object.assign(result, settled);
  const again = await spawnBroker(dataDir);
  const check = await amqp.connect(again.url);
  result.recovered = (await (await check.createChannel()).checkQueue('trial')).messageCount;
  await check.close();
  again.child.kill('SIGKILL');
  if (exited !== undefined) result.brokerStderr = broker.stderr().split('\n').find((l) => /Error/.test(l));
  console.log(JSON.stringify(result));
} finally {
  execFileSync('umount', ['-l', mount]);
  rmSync(mount, { recursive: true, force: true });
}
