// The on-disk store: a data directory holding a lock file, the definitions journal and one log per
// durable queue. Writes are buffered and handed to the OS once per event-loop turn; fsyncs are group
// commits, one round covering every write made before it started.
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Definition, DefinitionKind, MessageStore, QueueLog, SyncListener } from '../broker/store.js';
import { DefinitionsJournal } from './definitions-journal.js';
import { FileQueueLog, type LogOwner, type StoreLogger } from './queue-log.js';

export interface FileStoreOptions {
  dir: string;
  logger: StoreLogger;
  /** A queue's segment file is closed for appends past this size (bytes). */
  segmentSize?: number;
  /** Written data not waited for by anyone is fsync'd this often (ms). */
  syncIntervalMs?: number;
}

const LOCK_FILE = 'warren.lock';
/** Data directories this process holds (a lock file naming our own pid is ours only if listed here). */
const lockedHere = new Set<string>();

export class FileStore implements MessageStore, LogOwner {
  readonly logger: StoreLogger;
  readonly segmentSize: number;
  appended = 0;
  private readonly journal: DefinitionsJournal;
  private readonly queuesDir: string;
  private readonly pagingDir: string;
  private pagingLogs = 0;
  /** Open logs by directory name (paging/N for paging logs). */
  private readonly logs = new Map<string, FileQueueLog>();
  private readonly dirtyLogs: FileQueueLog[] = [];
  /** Files written since the current sync round began, with what to do after their fsync. */
  private toSync = new Map<number, () => boolean>();
  /** Files being fsync'd by the round in flight. */
  private syncing: Map<number, () => boolean> | undefined;
  private readonly closeAfterSync = new Set<number>();
  private waiting: SyncListener[] = [];
  private roundScheduled = false;
  private readonly startRoundNow = () => this.startRound();
  private readonly writePendingNow = () => this.writePending();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly openedAt = Date.now();

  constructor(private readonly options: FileStoreOptions) {
    this.logger = options.logger;
    this.segmentSize = options.segmentSize ?? 16 << 20;
    mkdirSync(options.dir, { recursive: true });
    lock(options.dir);
    this.queuesDir = join(options.dir, 'queues');
    mkdirSync(this.queuesDir, { recursive: true });
    // paged-out messages of queues that do not survive a restart: nothing there is kept
    this.pagingDir = join(options.dir, 'paging');
    rmSync(this.pagingDir, { recursive: true, force: true });
    this.journal = new DefinitionsJournal(join(options.dir, 'definitions.log'), this.logger);
    this.timer = setInterval(() => {
      if (this.toSync.size > 0 || this.dirtyLogs.length > 0) this.scheduleRound();
    }, options.syncIntervalMs ?? 200);
    this.timer.unref();
  }

  get definitions(): readonly Definition[] {
    return this.journal.definitions;
  }

  putDefinition(d: Definition): void {
    this.journal.put(d);
    this.written(this.journal.fd, () => false);
  }

  deleteDefinition(kind: DefinitionKind, vhost: string, key: string): void {
    this.journal.delete(kind, vhost, key);
    this.written(this.journal.fd, () => false);
  }

  queueLog(vhost: string, queue: string): QueueLog {
    const id = createHash('sha256').update(vhost).update('\u0000').update(queue).digest('hex').slice(0, 32);
    let log = this.logs.get(id);
    if (!log) {
      log = new FileQueueLog(join(this.queuesDir, id), this);
      this.logs.set(id, log);
    }
    return log;
  }

  pagingLog(): QueueLog {
    const name = String(this.pagingLogs++);
    const log = new FileQueueLog(join(this.pagingDir, name), this, false);
    this.logs.set(`paging/${name}`, log);
    return log;
  }

  dropUnopenedLogs(): void {
    let messages = 0;
    for (const log of this.logs.values()) messages += log.unread;
    this.logger.info({ queues: this.logs.size, messages, ms: Date.now() - this.openedAt }, 'recovery done');
    for (const dir of readdirSync(this.queuesDir)) {
      if (!this.logs.has(dir)) rmSync(join(this.queuesDir, dir), { recursive: true, force: true });
    }
  }

  // ---- LogOwner ----

  logDirty(log: FileQueueLog): void {
    // written by the next reply's flush, or at the end of this turn at the latest
    if (this.dirtyLogs.length === 0) setImmediate(this.writePendingNow);
    this.dirtyLogs.push(log);
  }

  written(fd: number, release: () => boolean): void {
    this.toSync.set(fd, release);
  }

  logDestroyed(log: FileQueueLog): void {
    for (const [id, open] of this.logs) if (open === log) this.logs.delete(id);
  }

  closeFile(fd: number): void {
    if (this.toSync.has(fd) || this.syncing?.has(fd)) this.closeAfterSync.add(fd);
    else closeSync(fd);
  }

  // ---- writing and syncing ----

  writePending(): void {
    if (this.dirtyLogs.length === 0) return;
    for (const log of this.dirtyLogs) log.writePending();
    this.dirtyLogs.length = 0;
  }

  afterSync(listener: SyncListener): void {
    this.waiting.push(listener);
    this.scheduleRound();
  }

  private scheduleRound(): void {
    if (this.roundScheduled || this.syncing !== undefined || this.closed) return;
    this.roundScheduled = true;
    setImmediate(this.startRoundNow);
  }

  /** One fsync per written file, in parallel; then everyone who waited before the round began is told. */
  private startRound(): void {
    this.roundScheduled = false;
    if (this.closed) return;
    this.writePending();
    const files = this.toSync;
    const listeners = this.waiting;
    this.toSync = new Map();
    this.waiting = [];
    this.syncing = files;
    let left = files.size;
    let failed = false;
    const done = () => {
      this.syncing = undefined;
      if (this.closed) return;
      if (failed) return this.retry(files, listeners);
      for (const [fd, release] of files) {
        if (this.toSync.has(fd)) continue; // written again: the next round has it
        if (this.closeAfterSync.delete(fd) || release()) closeSync(fd);
      }
      for (const l of listeners) l.synced();
      if (this.waiting.length > 0) this.scheduleRound();
    };
    if (left === 0) return done();
    for (const fd of files.keys()) {
      fdatasync(fd, (err) => {
        if (err) {
          failed = true;
          this.logger.error({ err, fd }, 'fsync failed: confirms wait, and the sync is tried again in a second');
        }
        if (--left === 0) done();
      });
    }
  }

  /** A round that failed is tried again later: its files stay to be synced, its listeners keep waiting. */
  private retry(files: Map<number, () => boolean>, listeners: SyncListener[]): void {
    for (const [fd, release] of files) if (!this.toSync.has(fd)) this.toSync.set(fd, release);
    this.waiting = [...listeners, ...this.waiting];
    this.syncing = new Map(); // no round starts meanwhile
    setTimeout(() => {
      this.syncing = undefined;
      this.scheduleRound();
    }, 1000).unref();
  }

  /** Writes and fsyncs what is pending, closes every file and releases the lock. */
  close(): void {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    clearInterval(this.timer);
    for (const fd of new Set([...this.toSync.keys(), ...(this.syncing?.keys() ?? [])])) fdatasyncSync(fd);
    for (const fd of this.closeAfterSync) closeSync(fd);
    this.closeAfterSync.clear();
    for (const log of this.logs.values()) log.close();
    this.journal.close();
    unlock(this.options.dir);
  }
}

/** Takes the data directory's lock file, or throws when a live process holds it. */
function lock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  try {
    const holder = Number(readFileSync(path, 'utf8').trim());
    if (holder === process.pid ? lockedHere.has(dir) : alive(holder)) {
      throw new Error(`data directory ${dir} is in use by process ${holder} (${path})`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(path, `${process.pid}\n`);
  lockedHere.add(dir);
}

function unlock(dir: string): void {
  lockedHere.delete(dir);
  rmSync(join(dir, LOCK_FILE), { force: true });
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
