// Durable definitions as an append-only journal of checksummed JSON records, compacted at start-up
// by writing the live set to a new file and renaming it over the old one: a crash at any moment
// leaves one whole journal, with at most a torn last record (cut off when read).
//
// A write that fails leaves the journal behind the definitions in memory: it is cut back to its last
// whole record, says so once, and catches up by compacting when told to try again (or at close).
import { dirname } from 'node:path';
import type { Logger } from '../broker/logger.js';
import type { Definition, DefinitionKind, StoreFault } from '../broker/store.js';
import { errorCode, writeAll, type FileSystem } from './fs.js';
import type { SyncTarget } from './queue-log.js';
import { recordHeader, scanRecords } from './records.js';

type Entry = { op: 'put'; d: Definition } | { op: 'delete'; kind: DefinitionKind; vhost: string; key: string };

const idOf = (kind: string, vhost: string, key: string) => `${kind}\u0000${vhost}\u0000${key}`;

/** What the journal needs of its store. */
export interface JournalOwner {
  readonly logger: Logger;
  readonly fs: FileSystem;
  written(fd: number, bytes: number, target: SyncTarget): void;
  /** Closes `fd`, once no sync round needs it. */
  closeFile(fd: number): void;
  journalFailed(fault: StoreFault): void;
}

export class DefinitionsJournal {
  private readonly live = new Map<string, Definition>();
  private fd: number;
  /** Bytes of whole records in the file. */
  private size = 0;
  /** The file lacks changes made since a write failed; a compaction brings it up to date. */
  private behind = false;
  private readonly fs: FileSystem;
  private readonly target: SyncTarget;

  /** Throws when the journal cannot be read or written at start-up (the broker cannot start on it). */
  constructor(
    private readonly path: string,
    private readonly owner: JournalOwner,
  ) {
    this.fs = owner.fs;
    this.target = { path, release: () => false, syncFailed: (err) => this.failed('fsync', err) };
    // compaction pays only when the journal holds more than the live set (or a torn tail)
    const clean = this.fs.existsSync(path) ? this.load() : true;
    if (clean) {
      this.fd = this.fs.openSync(path, 'a');
      this.size = this.fs.fstatSize(this.fd);
    } else this.fd = this.compact();
  }

  get definitions(): Definition[] {
    return [...this.live.values()];
  }

  /** Reads the journal; true when every record in it is live (nothing to compact). */
  private load(): boolean {
    const data = this.fs.readFileSync(this.path);
    let records = 0;
    const end = scanRecords(data, (payload, offset) => {
      records++;
      if (!payload) return this.owner.logger.error({ file: this.path, offset }, 'corrupt definition record skipped');
      this.apply(JSON.parse(payload.toString('utf8')) as Entry);
    });
    if (end < data.length) this.owner.logger.warn({ file: this.path, at: end, cut: data.length - end }, 'torn definition record at the end cut off');
    return end === data.length && records === this.live.size;
  }

  private apply(e: Entry): void {
    if (e.op === 'put') {
      const id = idOf(e.d.kind, e.d.vhost, e.d.key);
      // a changed definition moves to the end, after whatever it depends on
      this.live.delete(id);
      this.live.set(id, e.d);
    } else this.live.delete(idOf(e.kind, e.vhost, e.key));
  }

  /** Writes the live definitions to a new file, fsyncs it and renames it over the journal; returns its fd. */
  private compact(): number {
    const tmp = `${this.path}.tmp`;
    const fd = this.fs.openSync(tmp, 'w');
    let size = 0;
    try {
      size = writeAll(this.fs, fd, this.definitions.map((d) => encode({ op: 'put', d })));
      this.fs.fsyncSync(fd);
    } finally {
      this.fs.closeSync(fd);
    }
    this.fs.renameSync(tmp, this.path);
    syncDirectory(this.fs, dirname(this.path));
    this.size = size;
    return this.fs.openSync(this.path, 'a');
  }

  put(d: Definition): void {
    this.write({ op: 'put', d });
  }

  delete(kind: DefinitionKind, vhost: string, key: string): void {
    if (!this.live.has(idOf(kind, vhost, key))) return;
    this.write({ op: 'delete', kind, vhost, key });
  }

  private write(e: Entry): void {
    this.apply(e);
    if (this.behind) return;
    try {
      const bytes = writeAll(this.fs, this.fd, [encode(e)]);
      this.size += bytes;
      this.owner.written(this.fd, bytes, this.target);
    } catch (err) {
      this.failed('write', err);
      try {
        this.fs.ftruncateSync(this.fd, this.size);
      } catch {
        // a torn record at the end is cut off when the journal is next read
      }
    }
  }

  private failed(op: string, err: unknown): void {
    if (this.behind) return;
    this.behind = true;
    const fault = { op, path: this.path, code: errorCode(err) };
    this.owner.logger.error(fault, `definitions journal ${op} failed: changes are kept in memory and written when the disk takes writes again`);
    this.owner.journalFailed(fault);
  }

  /** Brings a journal that fell behind up to date by compacting it. */
  retry(): void {
    if (!this.behind) return;
    try {
      const fd = this.compact();
      this.owner.closeFile(this.fd);
      this.fd = fd;
      this.behind = false;
      this.owner.logger.info({ file: this.path }, 'definitions journal written again');
    } catch (err) {
      this.owner.logger.error({ file: this.path, code: errorCode(err) }, 'definitions journal still cannot be written');
    }
  }

  close(): void {
    this.retry();
    this.owner.closeFile(this.fd);
  }
}

function encode(e: Entry): Buffer {
  const payload = Buffer.from(JSON.stringify(e), 'utf8');
  return Buffer.concat([recordHeader([payload]), payload]);
}

/** A rename is durable once its directory is fsync'd. */
function syncDirectory(fs: FileSystem, dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
