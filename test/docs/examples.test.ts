// The examples in docs/testing.md, run as their readers would run them: node:test, vitest with a
// global set-up, a pytest fixture, and `warren run` in CI. They import 'warren' (this package, by its
// name) and start the built `warren` command.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const examples = join(root, 'docs', 'examples');
const cli = join(root, 'dist', 'cli', 'main.js');
const hasPytest = spawnSync('/usr/bin/python3', ['-m', 'pytest', '--version']).status === 0;
if (!hasPytest) console.warn('docs example with pytest skipped: /usr/bin/python3 -m pytest is not installed (Debian: python3-pytest)');

describe('docs/testing.md examples', () => {
  it('node:test: a 30 s retry on the manual clock, a reset between tests', async () => {
    const { stdout } = await run(process.execPath, ['--test', '--test-reporter=tap', join(examples, 'node-test.test.mjs')], { cwd: root });
    expect(stdout).toMatch(/^# pass 2$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  });

  it('vitest: one broker for the run from a global set-up, handed to tests with inject()', async () => {
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const { stdout } = await run(process.execPath, [vitest, 'run', '--config', join(examples, 'vitest.config.mjs')], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    expect(stdout).toMatch(/Tests\s+1 passed/);
  });

  it.skipIf(!hasPytest)('pytest: a session fixture that starts warren --port 0 --print-url', async () => {
    const { stdout } = await run('/usr/bin/python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', join(examples, 'python')], { env: { ...process.env, WARREN: `${process.execPath} ${cli}` } });
    expect(stdout).toMatch(/1 passed/);
  });

  it('CI: warren run -- <the test command>', async () => {
    const { stdout } = await run(process.execPath, [cli, 'run', '--', process.execPath, '--test', '--test-reporter=tap', join(examples, 'amqp-url.test.mjs')], { cwd: root });
    expect(stdout).toMatch(/^# pass 1$/m);
  });
});
