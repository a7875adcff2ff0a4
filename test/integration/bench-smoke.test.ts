// A short run of the load generator against Warren: timings are not tested, but nothing may be lost.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { needing } from '../support/shared.js';

const root = join(import.meta.dirname, '..', '..');
const benchDir = process.env.WARREN_BENCH_DIR ?? join(root, '..', 'shared', 'bench');

const generator = needing(join(benchDir, 'bench.mjs'), 'publishes and consumes for 2 s with zero lost and zero duplicated');

describe('benchmark smoke run', () => {
  it.skipIf(generator.skip)(generator.name, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'bench', 'run.mjs'), '--smoke'], { cwd: root, timeout: 90000 });
    expect(stdout).toMatch(/check\s+PASS: .* lost 0, duplicated 0/);
  }, 100000);
});
