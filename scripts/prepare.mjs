// npm's prepare step: build with TypeScript when it is installed (a development checkout). When npx
// installs this folder as a package it has no dev dependencies but already has the built dist/.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) process.exit(0);
  console.error('warren: cannot build: TypeScript is not installed and dist/ is missing');
  process.exit(1);
}
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
// `npx warren` in this folder runs the bin file itself, which tsc writes without the executable bit
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
