// The examples in docs/testing.md, run as their readers would run them: node:test, vitest with a
// global set-up, mocha root hooks, a jest global set-up, a pytest fixture, and `warren run` in CI. They import 'warren' (this package, by its
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

  it('mocha: root hooks that start a broker, reset it before each test and close it', async () => {
    const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const { stdout } = await run(process.execPath, [mocha, '--reporter', 'dot', '--require', join(examples, 'mocha', 'hooks.mjs'), join(examples, 'mocha', 'orders.spec.mjs')], { cwd: root });
    expect(stdout).toMatch(/2 passing/);
  });

  it('jest: a global set-up that hands the broker to the tests through AMQP_URL', async () => {
    const jest = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
    const { stderr } = await run(process.execPath, [jest, '--config', join(examples, 'jest', 'jest.config.cjs')], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    expect(stderr).toMatch(/Tests:\s+1 passed, 1 total/);
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
