// Paging for a broker that keeps nothing across runs: queues move what does not fit in memory to a
// private temporary directory, so a test that fills a queue does not swell the process running it.
// The directory goes at close(), or when the process exits without closing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../broker/clock.js';
import type { Logger } from '../broker/logger.js';
import type { Pager, QueueLog } from '../broker/store.js';
import { FileStore } from './file-store.js';

/** Directories of pagers not closed yet: one exit handler removes them all. */
const open = new Set<string>();
const remove = (dir: string) => rmSync(dir, { recursive: true, force: true });
let exitHandler: (() => void) | undefined;

export class TemporaryPager implements Pager {
  readonly dir: string;
  private readonly store: FileStore;

  constructor(logger: Logger, clock: Clock) {
    this.dir = mkdtempSync(join(tmpdir(), 'warren-paging-'));
    // nothing here is waited for, so fsyncs may be rare
    this.store = new FileStore({ dir: this.dir, logger, clock, syncIntervalMs: 60_000 });
    open.add(this.dir);
    if (!exitHandler) process.once('exit', (exitHandler = () => open.forEach(remove)));
  }

  pagingLog(): QueueLog {
    return this.store.pagingLog();
  }

  close(): void {
    this.store.close();
    remove(this.dir);
    open.delete(this.dir);
  }
}
