// The house rules that the source itself must keep: layers import in one direction, no module
// imports itself back through others, and time comes only from the clock module.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC);
const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));

/** The project files a module imports; `runtime`: only imports that load the module (not `import type`). */
function imports(file: string, runtime = false): string[] {
  const found: string[] = [];
  for (const m of text.get(file)!.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'/gm)) {
    if (runtime && m[1] !== undefined) continue;
    found.push(resolve(dirname(file), (m[2] ?? m[3]).replace(/\.js$/, '.ts')));
  }
  return found;
}

/** The layer a file belongs to: its directory under src/, or 'index' for src/index.ts. */
const layer = (file: string) => (dirname(file) === SRC ? 'index' : relative(SRC, file).split('/')[0]);

/** What each layer may import besides itself (the store implements the broker's interfaces). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  auth: ['protocol'],
  broker: ['auth', 'protocol'],
  store: ['broker', 'protocol'],
  server: ['broker', 'auth', 'protocol'],
  management: ['broker', 'auth', 'protocol'],
  testing: ['server', 'broker', 'store', 'management', 'auth', 'protocol'],
  cli: ['index', 'testing', 'server', 'broker', 'store', 'management', 'auth', 'protocol'],
  index: ['testing', 'server', 'broker', 'store', 'management', 'auth', 'protocol'],
};

describe('architecture', () => {
  it('reads the imports of every source file', () => {
    expect(files.length).toBeGreaterThan(30);
    expect(imports(join(SRC, 'server', 'connection.ts'), true)).toContain(join(SRC, 'server', 'channel.ts'));
    expect(imports(join(SRC, 'server', 'channel-context.ts'), true)).toEqual([]);
  });

  it('has layers that import only the layers below them', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layer(file);
      for (const target of imports(file)) {
        const to = layer(target);
        if (to !== from && !ALLOWED[from]?.includes(to)) wrong.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  // type-only imports are erased by the build: they cannot make one module load before another
  it('has no import cycles at run time', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of imports(file, true)) if (text.has(target)) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('reads the time and sets timers only in the clock module', () => {
    const clock = join(SRC, 'broker', 'clock.ts');
    const offenders: string[] = [];
    for (const [file, source] of text) {
      if (file === clock) continue;
      // comments may name them; code may not
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const m of code.matchAll(/\b(Date\.now|setTimeout|setInterval|clearTimeout|clearInterval|performance\.now|new Date\(\))/g)) {
        offenders.push(`${relative(SRC, file)}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
