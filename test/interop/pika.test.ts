// Debian's python3-pika (run with /usr/bin/python3) against the broker.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';

const run = promisify(execFile);
const python = '/usr/bin/python3';
const script = join(import.meta.dirname, 'pika_connect.py');

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

describe('python3-pika', () => {
  it('connects, opens a channel, sets QoS and closes', async (ctx) => {
    if (!(await hasPika())) {
      // CI installs python3-pika; only a developer machine without it may skip
      if (process.env.CI) throw new Error('python3-pika is not installed (apt-get install -y python3-pika)');
      return ctx.skip();
    }
    const { stdout } = await run(python, [script, broker.url], { timeout: 15000 });
    expect(stdout.trim()).toBe('OK RabbitMQ');
  });
});
