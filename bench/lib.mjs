// What the benchmark scripts share: where things are, starting Warren builds, RabbitMQ's local
// instance, and process figures.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const benchDir = process.env.WARREN_BENCH_DIR ?? join(root, '..', 'shared', 'bench');
export const rabbitTool = join(root, '..', 'shared', 'tools', 'rabbitmq-local');
export const warrenCli = join(root, 'dist', 'cli', 'main.js');
export const RABBIT_PORT = 5682;
export const url = (port) => `amqp://guest:guest@127.0.0.1:${port}/`;

export function run(cmd, args, options = {}) {
  return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

/**
 * Starts a Warren CLI build on `port` with a fresh data directory and resolves its process once it
 * accepts connections. `nodeArgs` go to node before the script (e.g. an --import preload), `cliArgs`
 * after it (e.g. --no-management).
 */
export async function startWarren(port, cli = warrenCli, nodeArgs = [], cliArgs = []) {
  const args = [...nodeArgs, cli, '--port', String(port), '--log-level', 'warn', '--data-dir', mkdtempSync(join(tmpdir(), 'warren-bench-')), ...cliArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      run(process.execPath, ['-e', `const s=require('net').connect(${port},'127.0.0.1',()=>process.exit(0));s.on('error',()=>process.exit(1))`]);
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error(`Warren (${cli}) did not start`);
}

export function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function hasRabbit() {
  try {
    run('sh', ['-c', 'command -v rabbitmq-server']);
    return true;
  } catch {
    return false;
  }
}

/** Starts rabbitmq-local (if installed) and returns its pid, or undefined without RabbitMQ. */
export function startRabbit() {
  if (!hasRabbit()) return undefined;
  run(rabbitTool, ['start'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const home = process.env.RMQ_HOME ?? join(process.env.TMPDIR ?? '/tmp', `rabbitmq-local-${RABBIT_PORT}`);
  const file = join(home, 'pid');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
