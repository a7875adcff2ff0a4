// Debian's python3-pika (run with /usr/bin/python3) against the broker.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';

const run = promisify(execFile);
const python = '/usr/bin/python3';
const script = (name: string) => join(import.meta.dirname, name);

let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());

async function hasPika(): Promise<boolean> {
  if (!existsSync(python)) return false;
  return run(python, ['-c', 'import pika']).then(
    () => true,
    () => false,
  );
}

/** Runs a pika script against the broker; CI installs python3-pika, a developer machine without it skips. */
async function runPika(ctx: { skip(): void }, name: string, timeout: number): Promise<string> {
  if (!(await hasPika())) {
    if (process.env.CI) throw new Error('python3-pika is not installed (apt-get install -y python3-pika)');
    ctx.skip();
  }
  const { stdout } = await run(python, [script(name), broker.url], { timeout });
  return stdout.trim();
}

describe('python3-pika', () => {
  it('connects, opens a channel, sets QoS and closes', async (ctx) => {
    expect(await runPika(ctx, 'pika_connect.py', 15000)).toBe('OK RabbitMQ');
  });

  it("runs RabbitMQ's six tutorials", async (ctx) => {
    expect((await runPika(ctx, 'pika_tutorials.py', 30000)).split('\n')).toEqual(['OK hello', 'OK work_queues', 'OK pubsub', 'OK routing', 'OK topics', 'OK rpc']);
  });
});
