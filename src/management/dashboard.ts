// The dashboard's files, served by the management listener beside the API: plain HTML, CSS and
// JavaScript (no build step) and uPlot from its npm package. Read once, then kept.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const resolve = createRequire(import.meta.url).resolve;

const FILES: Readonly<Record<string, { path: () => string; type: string }>> = {
  '/': { path: () => join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { path: () => join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/js/app.js': { path: () => join(here, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/css/style.css': { path: () => join(here, 'style.css'), type: 'text/css; charset=utf-8' },
  '/js/uPlot.iife.min.js': { path: () => resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/css/uPlot.min.css': { path: () => resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Buffer>();

/** The dashboard file at `path`, or undefined when there is none. */
export function dashboardFile(path: string): { body: Buffer; type: string } | undefined {
  const file = FILES[path];
  if (!file) return undefined;
  let body = cache.get(path);
  if (!body) cache.set(path, (body = readFileSync(file.path())));
  return { body, type: file.type };
}
