// Loaded with `node --import bench/observe.mjs dist/cli/main.js`: subscribes to every Warren
// observation channel (frames in and out included) and counts what it hears, so a benchmark can
// measure what listening costs. Reports the counts on exit, on stderr.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

const names = ['warren:frame', 'warren:connection', 'warren:channel', 'warren:consumer', 'warren:queue', 'warren:exchange', 'warren:binding'];
const counts = Object.fromEntries(names.map((n) => [n, 0]));
let frameBytes = 0;
const listeners = names.map((name) => {
  const listener = (message) => {
    counts[name]++;
    if (name === 'warren:frame') frameBytes += message.payload.length;
  };
  subscribe(name, listener);
  return [name, listener];
});

process.on('exit', () => {
  for (const [name, listener] of listeners) unsubscribe(name, listener);
  process.stderr.write(`observed: ${JSON.stringify({ ...counts, frameBytes })}\n`);
});
