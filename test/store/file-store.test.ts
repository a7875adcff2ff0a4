// The file store: the shared behaviour, plus what only files have (torn and corrupt records,
// segment files, the lock).
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/broker/logger.js';
import type { MessageStore } from '../../src/broker/store.js';
import { FileStore } from '../../src/store/file-store.js';
import { message, storeSuite } from './store-suite.js';

interface Logged {
  level: string;
  msg: string;
}

function open(dir: string, logs: Logged[] = [], segmentSize?: number): FileStore {
  const log = (level: string) => (_obj: object | string, msg?: string) => void logs.push({ level, msg: msg ?? String(_obj) });
  const logger: Logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'), child: () => logger };
  return new FileStore({ dir, segmentSize, logger });
}

const dirs = new WeakMap<MessageStore, string>();
const tempDir = () => mkdtempSync(join(tmpdir(), 'warren-store-'));

storeSuite('file store', {
  create: () => {
    const dir = tempDir();
    const store = open(dir);
    dirs.set(store, dir);
    return store;
  },
  reopen: (store) => {
    store.close();
    const dir = dirs.get(store)!;
    const again = open(dir);
    dirs.set(again, dir);
    return again;
  },
});

const queueDir = (dir: string) => join(dir, 'queues', readdirSync(join(dir, 'queues'))[0]);

describe('file store on disk', () => {
  it('cuts off a torn last record and keeps the whole ones before it', () => {
    const dir = tempDir();
    const logs: Logged[] = [];
    let store = open(dir, logs);
    const log = store.queueLog('/', 'q');
    for (let i = 0; i < 3; i++) log.append(message(`m${i}`), 0, true);
    store.close();
    const seg = join(queueDir(dir), '1.seg');
    const whole = statSync(seg).size;
    appendFileSync(seg, readFileSync(seg).subarray(0, 20)); // half a record, as a crash mid-write leaves
    store = open(dir, logs);
    expect(store.queueLog('/', 'q').read(Infinity, Infinity).map((m) => m.message.body.toString())).toEqual(['m0', 'm1', 'm2']);
    expect(statSync(seg).size).toBe(whole);
    expect(logs.some((l) => l.level === 'warn' && /torn/.test(l.msg))).toBe(true);
    store.close();
  });

  it('skips a record whose checksum does not match, logging an error, and keeps the rest', () => {
    const dir = tempDir();
    const logs: Logged[] = [];
    let store = open(dir, logs);
    const log = store.queueLog('/', 'q');
    for (let i = 0; i < 3; i++) log.append(message(`message-${i}`), 0, true);
    store.close();
    const seg = join(queueDir(dir), '1.seg');
    const data = readFileSync(seg);
    const at = data.indexOf('message-1');
    data[at] ^= 0xff;
    writeFileSync(seg, data);
    store = open(dir, logs);
    expect(store.queueLog('/', 'q').read(Infinity, Infinity).map((m) => m.message.body.toString())).toEqual(['message-0', 'message-2']);
    expect(logs.some((l) => l.level === 'error' && /corrupt/.test(l.msg))).toBe(true);
    store.close();
  });

  it('rolls segments at their size and deletes one once all its messages are removed', () => {
    const dir = tempDir();
    const store = open(dir, [], 1000);
    const log = store.queueLog('/', 'q');
    const refs = Array.from({ length: 40 }, (_, i) => log.append(message(`m${i}`.padEnd(100, '.')), 0, true));
    store.writePending();
    const segments = () => readdirSync(queueDir(dir)).filter((f) => f.endsWith('.seg')).sort();
    const before = segments();
    expect(before.length).toBeGreaterThan(3);
    for (const ref of refs.slice(0, 20)) log.remove(ref);
    store.writePending();
    const after = segments();
    expect(after.length).toBeLessThan(before.length);
    expect(after).not.toContain('1.seg');
    store.close();
    const again = open(dir, [], 1000);
    expect(again.queueLog('/', 'q').read(Infinity, Infinity).map((m) => m.message.body.toString().replace(/\.+$/, ''))).toEqual(
      Array.from({ length: 20 }, (_, i) => `m${i + 20}`),
    );
    again.close();
  });

  it('refuses a data directory another live store holds, and takes over a stale lock', () => {
    const dir = tempDir();
    const store = open(dir);
    expect(() => open(dir)).toThrow(/in use by process/);
    store.close();
    writeFileSync(join(dir, 'warren.lock'), '999999999\n'); // a process that no longer exists
    const again = open(dir);
    again.close();
  });

  it('reads back large and many messages in bounded batches', () => {
    const dir = tempDir();
    const store = open(dir);
    const log = store.queueLog('/', 'q');
    const big = 'x'.repeat(3 << 20);
    log.appendUnread(message(big), 0, true);
    for (let i = 0; i < 1000; i++) log.appendUnread(message(`s${i}`), 0, true);
    const first = log.read(10, 1);
    expect(first.map((m) => m.message.body.length)).toEqual([big.length]);
    const rest = log.read(Infinity, Infinity);
    expect(rest.length).toBe(1000);
    expect(rest[999].message.body.toString()).toBe('s999');
    expect(log.unread).toBe(0);
    store.close();
  });
});
