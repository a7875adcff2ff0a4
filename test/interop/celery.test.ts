// A real Celery worker (Debian's python3-celery, kombu over py-amqp) running tasks through Warren, with
// results over the rpc:// backend and a task that retries through the broker.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';

const run = promisify(execFile);
const dir = join(import.meta.dirname, 'celery');
const hasCelery = spawnSync('/usr/bin/python3', ['-c', 'import celery, kombu']).status === 0;
if (!hasCelery) console.warn('Celery test skipped: python3-celery is not installed');

let broker: TestBroker;

describe.skipIf(!hasCelery)('Celery', () => {
  beforeAll(async () => {
    broker = await testBroker();
  });
  afterAll(() => broker?.close());

  it('runs tasks in a worker and brings their results back', async () => {
    const env = { ...process.env, AMQP_URL: broker.url, PYTHONPATH: dir };
    const worker = spawn('/usr/bin/python3', ['-m', 'celery', '-A', 'tasks', 'worker', '--pool=solo', '--without-heartbeat', '--without-gossip', '--without-mingle', '-l', 'warning'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let workerLog = '';
    worker.stderr.on('data', (d) => (workerLog += d));
    try {
      const { stdout } = await run('/usr/bin/python3', [join(dir, 'client.py')], { cwd: dir, env, timeout: 60_000 });
      expect(JSON.parse(stdout)).toEqual({ adds: [0, 2, 4, 6, 8], retried: 'done after 2 retries' });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nworker: ${workerLog}`);
    } finally {
      worker.kill('SIGTERM');
    }
  }, 90_000);
});
