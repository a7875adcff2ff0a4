// The README's JavaScript examples, run as a new user would paste them: each must finish on its own
// and print what its comments say.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README examples', () => {
  it('has the two to run', () => {
    expect(blocks).toHaveLength(2);
  });

  it('runs the testing example: the message read in place, then gone with its TTL', async () => {
    // evaluated in the project's root, where 'warren' names this package
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', blocks[0]], { cwd: root, timeout: 20_000 });
    expect(stdout).toBe('job 1\n0\n');
  });

  it('runs the observation example: frames in and out', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', blocks[1]], { cwd: root, timeout: 20_000 });
    expect(stdout.split('\n').slice(0, 2)).toEqual(['out 0 1', 'in 0 1']);
  });
});
