// A file system that fails chosen calls on chosen paths, for the store's fault tests: ENOSPC on a
// write, EIO on an fsync, EACCES on a read, short writes. Everything else goes to node:fs.
import { nodeFileSystem, type FileSystem } from '../../src/store/fs.js';

export type FaultOp = 'write' | 'fsync' | 'read' | 'open' | 'mkdir' | 'short-write';

interface Rule {
  op: FaultOp;
  path: RegExp;
  code: string;
  /** How many more calls fail; Infinity until cleared. */
  left: number;
}

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${syscall} '${path}'`), { code, syscall, path });
}

export class FaultyFs implements FileSystem {
  private readonly rules: Rule[] = [];
  private readonly paths = new Map<number, string>();
  /** Calls that failed, as `op path`. */
  readonly failures: string[] = [];

  /** Makes `op` on paths matching `path` fail with `code`, `times` times (every time by default). */
  fail(op: FaultOp, path: RegExp, code: string, times = Infinity): this {
    this.rules.push({ op, path, code, left: times });
    return this;
  }

  /** The disk is well again. */
  heal(): void {
    this.rules.length = 0;
  }

  private check(op: FaultOp, path: string, syscall: string): void {
    const rule = this.rules.find((r) => r.op === op && r.left > 0 && r.path.test(path));
    if (!rule) return;
    rule.left--;
    this.failures.push(`${op} ${path}`);
    throw errno(rule.code, syscall, path);
  }

  private pathOf(fd: number): string {
    return this.paths.get(fd) ?? `fd ${fd}`;
  }

  openSync(path: string, flags: string): number {
    this.check('open', path, 'open');
    const fd = nodeFileSystem.openSync(path, flags);
    this.paths.set(fd, path);
    return fd;
  }

  closeSync(fd: number): void {
    this.paths.delete(fd);
    nodeFileSystem.closeSync(fd);
  }

  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number {
    this.check('write', this.pathOf(fd), 'write');
    return nodeFileSystem.writeSync(fd, buffer, offset, length);
  }

  writevSync(fd: number, buffers: readonly Buffer[]): number {
    const path = this.pathOf(fd);
    this.check('write', path, 'writev');
    const short = this.rules.find((r) => r.op === 'short-write' && r.left > 0 && r.path.test(path));
    if (short) {
      // the disk takes a part: the first half of the first buffer
      short.left--;
      this.failures.push(`short-write ${path}`);
      const first = buffers.find((b) => b.length > 0);
      return first === undefined ? 0 : nodeFileSystem.writeSync(fd, first, 0, Math.ceil(first.length / 2));
    }
    return nodeFileSystem.writevSync(fd, buffers);
  }

  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    this.check('read', this.pathOf(fd), 'read');
    return nodeFileSystem.readSync(fd, buffer, offset, length, position);
  }

  readFileSync(path: string): Buffer {
    this.check('read', path, 'open');
    return nodeFileSystem.readFileSync(path);
  }

  readdirSync(path: string): string[] {
    this.check('read', path, 'scandir');
    return nodeFileSystem.readdirSync(path);
  }

  fstatSize(fd: number): number {
    return nodeFileSystem.fstatSize(fd);
  }

  ftruncateSync(fd: number, length: number): void {
    nodeFileSystem.ftruncateSync(fd, length);
  }

  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void {
    const path = this.pathOf(fd);
    try {
      this.check('fsync', path, 'fdatasync');
    } catch (err) {
      return void setImmediate(() => callback(err as NodeJS.ErrnoException));
    }
    nodeFileSystem.fdatasync(fd, callback);
  }

  fdatasyncSync(fd: number): void {
    this.check('fsync', this.pathOf(fd), 'fdatasync');
    nodeFileSystem.fdatasyncSync(fd);
  }

  fsyncSync(fd: number): void {
    this.check('fsync', this.pathOf(fd), 'fsync');
    nodeFileSystem.fsyncSync(fd);
  }

  mkdirSync(path: string): void {
    this.check('mkdir', path, 'mkdir');
    nodeFileSystem.mkdirSync(path);
  }

  rmSync(path: string): void {
    nodeFileSystem.rmSync(path);
  }

  renameSync(from: string, to: string): void {
    nodeFileSystem.renameSync(from, to);
  }

  writeFileSync(path: string, data: string): void {
    nodeFileSystem.writeFileSync(path, data);
  }

  existsSync(path: string): boolean {
    return nodeFileSystem.existsSync(path);
  }
}
