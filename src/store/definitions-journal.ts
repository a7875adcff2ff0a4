// Durable definitions as an append-only journal of checksummed JSON records, compacted at start-up
// by writing the live set to a new file and renaming it over the old one: a crash at any moment
// leaves one whole journal, with at most a torn last record (cut off when read).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Definition, DefinitionKind } from '../broker/store.js';
import { recordHeader, scanRecords } from './records.js';
import type { StoreLogger } from './queue-log.js';

type Entry = { op: 'put'; d: Definition } | { op: 'delete'; kind: DefinitionKind; vhost: string; key: string };

const idOf = (kind: string, vhost: string, key: string) => `${kind}\u0000${vhost}\u0000${key}`;

export class DefinitionsJournal {
  private readonly live = new Map<string, Definition>();
  readonly fd: number;

  constructor(
    private readonly path: string,
    private readonly logger: StoreLogger,
  ) {
    // compaction pays only when the journal holds more than the live set (or a torn tail)
    const clean = existsSync(path) ? this.load() : true;
    this.fd = clean ? openSync(path, 'a') : this.compact();
  }

  get definitions(): Definition[] {
    return [...this.live.values()];
  }

  /** Reads the journal; true when every record in it is live (nothing to compact). */
  private load(): boolean {
    const data = readFileSync(this.path);
    let records = 0;
    const end = scanRecords(data, (payload, offset) => {
      records++;
      if (!payload) return this.logger.error({ file: this.path, offset }, 'corrupt definition record skipped');
      this.apply(JSON.parse(payload.toString('utf8')) as Entry);
    });
    if (end < data.length) this.logger.warn({ file: this.path, at: end, cut: data.length - end }, 'torn definition record at the end cut off');
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

  /** Writes the live definitions to a new file, fsyncs it and renames it over the journal. */
  private compact(): number {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    const chunks = this.definitions.map((d) => encode({ op: 'put', d }));
    if (chunks.length > 0) writeSync(fd, Buffer.concat(chunks));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    syncDirectory(dirname(this.path));
    return openSync(this.path, 'a');
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
    writeSync(this.fd, encode(e));
  }

  close(): void {
    closeSync(this.fd);
  }
}

function encode(e: Entry): Buffer {
  const payload = Buffer.from(JSON.stringify(e), 'utf8');
  return Buffer.concat([recordHeader([payload]), payload]);
}

/** A rename is durable once its directory is fsync'd. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
