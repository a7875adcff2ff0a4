// The on-disk store: a data directory holding a lock file, the definitions journal and one log per
// durable queue. Writes are buffered and handed to the OS once per event-loop turn; fsyncs are group
// commits, one round covering every write made before it started. No disk error escapes: a failed
// write, fsync or read is logged with its path, reported to the broker (the disk alarm), and told to
// every sync listener whose data may be in a failed log. A failed fsync is never retried.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { realClock, stopwatch, type Clock, type Timer } from '../broker/clock.js';
import type { Logger } from '../broker/logger.js';
import type { Definition, DefinitionKind, MessageStore, QueueLog, StoreFault, StoreListener, SyncListener } from '../broker/store.js';
import { DefinitionsJournal, type JournalOwner } from './definitions-journal.js';
import { errorCode, nodeFileSystem, type FileSystem } from './fs.js';
import { FileQueueLog, type LogOwner, type SyncTarget } from './queue-log.js';

export interface FileStoreOptions {
  dir: string;
  logger: Logger;
  clock?: Clock;
  /** The file system (node:fs unless a test injects faults). */
  fs?: FileSystem;
  /** A queue's segment file is closed for appends past this size (bytes). */
  segmentSize?: number;
  /** Written data not waited for by anyone is fsync'd this often (ms). */
  syncIntervalMs?: number;
}

const LOCK_FILE = 'warren.lock';
const READ_RETRY_MS = 1000;
/** Data directories this process holds (a lock file naming our own pid is ours only if listed here). */
const lockedHere = new Set<string>();

export class FileStore implements MessageStore, LogOwner, JournalOwner {
  readonly logger: Logger;
  readonly fs: FileSystem;
  readonly segmentSize: number;
  private readonly clock: Clock;
  private readonly journal: DefinitionsJournal;
  private readonly queuesDir: string;
  private readonly pagingDir: string;
  private pagingLogs = 0;
  /** Open logs by directory name (paging/N for paging logs). */
  private readonly logs = new Map<string, FileQueueLog>();
  private readonly dirtyLogs: FileQueueLog[] = [];
  /** Files written since the current sync round began, with what to do after their fsync. */
  private toSync = new Map<number, SyncTarget>();
  /** Files being fsync'd by the round in flight. */
  private syncing: Map<number, SyncTarget> | undefined;
  private readonly closeAfterSync = new Set<number>();
  private waiting: SyncListener[] = [];
  /** Logs that stopped storing and have not been told to try again: every sync listener hears of them. */
  private readonly failedLogs = new Set<QueueLog>();
  /** Faults reported before the broker listened (recovery), replayed to it. */
  private readonly earlyFaults: StoreFault[] = [];
  private listener: StoreListener | undefined;
  private roundScheduled = false;
  private readonly startRoundNow = () => this.startRound();
  private readonly writePendingNow = () => this.writePending();
  private readonly timer: Timer;
  private closed = false;
  private readonly elapsed = stopwatch();

  /** Throws, with a sentence naming the directory, when it cannot be used. */
  constructor(private readonly options: FileStoreOptions) {
    this.logger = options.logger;
    this.fs = options.fs ?? nodeFileSystem;
    this.clock = options.clock ?? realClock;
    this.segmentSize = options.segmentSize ?? 16 << 20;
    const dir = options.dir;
    this.queuesDir = join(dir, 'queues');
    this.pagingDir = join(dir, 'paging');
    try {
      this.fs.mkdirSync(dir);
      lock(this.fs, dir);
      this.fs.mkdirSync(this.queuesDir);
      // paged-out messages of queues that do not survive a restart: nothing there is kept
      this.fs.rmSync(this.pagingDir);
      this.journal = new DefinitionsJournal(join(dir, 'definitions.log'), this);
    } catch (err) {
      if (lockedHere.has(dir)) unlock(this.fs, dir);
      throw new Error(`cannot use data directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
    this.timer = this.clock.every(options.syncIntervalMs ?? 200, () => {
      if (this.toSync.size > 0 || this.dirtyLogs.length > 0) this.scheduleRound();
    });
  }

  get definitions(): readonly Definition[] {
    return this.journal.definitions;
  }

  putDefinition(d: Definition): void {
    this.journal.put(d);
  }

  deleteDefinition(kind: DefinitionKind, vhost: string, key: string): void {
    this.journal.delete(kind, vhost, key);
  }

  queueLog(vhost: string, queue: string): QueueLog {
    const id = createHash('sha256').update(vhost).update('\u0000').update(queue).digest('hex').slice(0, 32);
    let log = this.logs.get(id);
    if (!log) {
      const dir = join(this.queuesDir, id);
      // a queue declared now has no directory yet: its log makes one with its first write
      log = new FileQueueLog(dir, this, this.fs.existsSync(dir), { vhost, name: queue });
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
    this.logger.info({ queues: this.logs.size, messages, ms: this.elapsed() }, 'recovery done');
    let dirs: string[] = [];
    try {
      dirs = this.fs.readdirSync(this.queuesDir);
    } catch (err) {
      this.logger.error({ dir: this.queuesDir, code: errorCode(err) }, 'cannot list queue logs: logs of deleted queues stay until the next start');
    }
    for (const dir of dirs) {
      if (this.logs.has(dir)) continue;
      try {
        this.fs.rmSync(join(this.queuesDir, dir));
      } catch (err) {
        this.logger.error({ dir: join(this.queuesDir, dir), code: errorCode(err) }, 'cannot delete the log of a deleted queue');
      }
    }
  }

  listen(listener: StoreListener): void {
    this.listener = listener;
    for (const fault of this.earlyFaults.splice(0)) listener.failed(fault);
  }

  retryFailed(): void {
    this.journal.retry();
    for (const log of [...this.failedLogs]) (log as FileQueueLog).retry();
  }

  // ---- LogOwner and JournalOwner ----

  logDirty(log: FileQueueLog): void {
    // written by the next reply's flush, or at the end of this turn at the latest
    if (this.dirtyLogs.length === 0) setImmediate(this.writePendingNow);
    this.dirtyLogs.push(log);
  }

  written(fd: number, bytes: number, target: SyncTarget): void {
    this.toSync.set(fd, target);
    this.listener?.written(bytes);
  }

  logDestroyed(log: FileQueueLog): void {
    this.failedLogs.delete(log);
    for (const [id, open] of this.logs) if (open === log) this.logs.delete(id);
  }

  logFailed(log: FileQueueLog, fault: StoreFault, resumable: boolean): void {
    this.failedLogs.add(log);
    const consequence = resumable
      ? 'messages it did not store are not confirmed and stay in memory; it writes again once the disk takes writes'
      : 'the queue runs without its stored messages, which stay on disk untouched until the next start';
    this.logger.error({ ...fault, dir: log.dir }, `queue log ${fault.op} failed (${fault.code}) at ${fault.path}: ${consequence}`);
    this.fault(fault);
  }

  readFailed(log: FileQueueLog, fault: StoreFault): void {
    this.logger.error({ ...fault, dir: log.dir }, `queue log read failed (${fault.code}) at ${fault.path}: its messages wait, and reading is tried again in a second`);
    this.fault(fault);
    this.clock.after(READ_RETRY_MS, () => log.retryRead());
  }

  logResumed(log: FileQueueLog): void {
    this.failedLogs.delete(log);
    this.logger.info({ dir: log.dir }, 'queue log writes again');
  }

  journalFailed(fault: StoreFault): void {
    this.fault(fault);
  }

  private fault(fault: StoreFault): void {
    if (this.listener) this.listener.failed(fault);
    else this.earlyFaults.push(fault);
  }

  closeFile(fd: number): void {
    if (this.toSync.has(fd) || this.syncing?.has(fd)) this.closeAfterSync.add(fd);
    else this.closeNow(fd);
  }

  private closeNow(fd: number): void {
    try {
      this.fs.closeSync(fd);
    } catch (err) {
      this.logger.error({ fd, code: errorCode(err) }, 'cannot close a store file');
    }
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
    const done = () => {
      this.syncing = undefined;
      if (this.closed) return;
      for (const [fd, target] of files) {
        if (this.toSync.has(fd)) continue; // written again: the next round has it
        if (this.closeAfterSync.delete(fd) || target.release()) this.closeNow(fd);
      }
      const failed = this.failedLogs.size > 0 ? new Set(this.failedLogs) : undefined;
      for (const l of listeners) l.synced(failed);
      if (this.waiting.length > 0) this.scheduleRound();
    };
    if (left === 0) return done();
    for (const [fd, target] of files) {
      this.fs.fdatasync(fd, (err) => {
        // the target says what failed and stops using the file; the data is never assumed synced
        if (err) target.syncFailed(err);
        if (--left === 0) done();
      });
    }
  }

  /** Writes and fsyncs what is pending, closes every file and releases the lock. */
  close(): void {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    this.clock.cancel(this.timer);
    for (const [fd, target] of new Map([...this.toSync, ...(this.syncing ?? [])])) {
      try {
        this.fs.fdatasyncSync(fd);
      } catch (err) {
        this.logger.error({ file: target.path, code: errorCode(err) }, 'fsync at shutdown failed');
      }
    }
    for (const log of this.logs.values()) log.close();
    this.journal.close();
    for (const fd of this.closeAfterSync) this.closeNow(fd);
    this.closeAfterSync.clear();
    unlock(this.fs, this.options.dir);
  }
}

/** Takes the data directory's lock file, or throws when a live process holds it. */
function lock(fs: FileSystem, dir: string): void {
  const path = join(dir, LOCK_FILE);
  if (fs.existsSync(path)) {
    const holder = Number(fs.readFileSync(path).toString('utf8').trim());
    if (holder === process.pid ? lockedHere.has(dir) : alive(holder)) {
      throw new Error(`it is in use by process ${holder} (${path})`);
    }
  }
  fs.writeFileSync(path, `${process.pid}\n`);
  lockedHere.add(dir);
}

function unlock(fs: FileSystem, dir: string): void {
  lockedHere.delete(dir);
  try {
    fs.rmSync(join(dir, LOCK_FILE));
  } catch {
    // a lock file left behind names a dead process: the next start takes it over
  }
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
