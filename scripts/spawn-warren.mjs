// Starts the built CLI (dist/) on a free port with a data directory, for the durability scripts.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');

/**
 * Resolves once the broker listens: its process, its URL and how long it took from spawn (ms). `cliPath`
 * runs another build (a baseline, for before/after figures).
 */
export function spawnWarren(dataDir, cliPath = cli) {
  const started = process.hrtime.bigint();
  // this build's management API takes a free port (builds before it had none, and no such option)
  const management = cliPath === cli ? ['--management-port', '0'] : [];
  const child = spawn(process.execPath, [cliPath, '--port', '0', ...management, '--data-dir', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve({ child, started, url: `amqp://guest:guest@127.0.0.1:${m[1]}/`, listeningMs: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.once('exit', (code, signal) => reject(new Error(`broker exited (${code ?? signal}) before listening`)));
  });
}
