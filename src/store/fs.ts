// The file-system calls the store makes, behind one seam: node:fs in production, and in tests a
// wrapper that fails chosen calls (ENOSPC on a write, EIO on an fsync, EACCES on a read) without root
// or mounts.
import * as fs from 'node:fs';

export interface FileSystem {
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  /** Bytes written, which may be fewer than asked (a short write). */
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
  writevSync(fd: number, buffers: readonly Buffer[]): number;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  readFileSync(path: string): Buffer;
  readdirSync(path: string): string[];
  fstatSize(fd: number): number;
  ftruncateSync(fd: number, length: number): void;
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  fdatasyncSync(fd: number): void;
  fsyncSync(fd: number): void;
  mkdirSync(path: string): void;
  rmSync(path: string): void;
  renameSync(from: string, to: string): void;
  writeFileSync(path: string, data: string): void;
  existsSync(path: string): boolean;
}

export const nodeFileSystem: FileSystem = {
  openSync: (path, flags) => fs.openSync(path, flags),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
  writevSync: (fd, buffers) => fs.writevSync(fd, buffers as Buffer[]),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  readFileSync: (path) => fs.readFileSync(path),
  readdirSync: (path) => fs.readdirSync(path),
  fstatSize: (fd) => fs.fstatSync(fd).size,
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fdatasync: (fd, callback) => fs.fdatasync(fd, callback),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  mkdirSync: (path) => void fs.mkdirSync(path, { recursive: true }),
  rmSync: (path) => fs.rmSync(path, { recursive: true, force: true }),
  renameSync: (from, to) => fs.renameSync(from, to),
  writeFileSync: (path, data) => fs.writeFileSync(path, data),
  existsSync: (path) => fs.existsSync(path),
};

/** Writes every byte of `buffers`, going on after short writes; throws what the file system throws. */
export function writeAll(fileSystem: FileSystem, fd: number, buffers: readonly Buffer[]): number {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = fileSystem.writevSync(fd, buffers);
  if (written === total) return total;
  // a short write: the rest goes buffer by buffer, from where the disk stopped
  let skip = written;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    let offset = skip;
    skip = 0;
    while (offset < b.length) {
      const n = fileSystem.writeSync(fd, b, offset, b.length - offset);
      if (n <= 0) throw Object.assign(new Error(`write made no progress (${written} of ${total} bytes written)`), { code: 'EIO' });
      offset += n;
      written += n;
    }
  }
  return total;
}

/** The errno code of a failed call ('EIO' when it has none). */
export function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'EIO';
}
