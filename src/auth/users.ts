// Users and their credentials. Passwords are kept as salted SHA-256 hashes, as RabbitMQ's default
// rabbit_password_hashing_sha256 does.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface User {
  readonly name: string;
  readonly tags: readonly string[];
}

/** A user as kept: the password only as a salted hash. */
export interface StoredUser extends User {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Told of every change, to keep users durable. */
export interface UserListener {
  saved(user: StoredUser): void;
  deleted(name: string): void;
}

function hashPassword(salt: Buffer, password: string): Buffer {
  return createHash('sha256').update(salt).update(password, 'utf8').digest();
}

export class UserStore {
  private readonly users = new Map<string, StoredUser>();

  constructor(private readonly listener?: UserListener) {}

  add(name: string, password: string, tags: readonly string[] = []): User {
    const salt = randomBytes(4);
    const user: StoredUser = { name, tags, salt, hash: hashPassword(salt, password) };
    this.users.set(name, user);
    this.listener?.saved(user);
    return { name, tags };
  }

  /**
   * A user with RabbitMQ's password hash (base64 of the 4-byte salt and the SHA-256 of salt and
   * password, rabbit_password_hashing_sha256), so users move between RabbitMQ and Warren unchanged.
   * Undefined when the hash is not one.
   */
  addHashed(name: string, passwordHash: string, tags: readonly string[] = []): User | undefined {
    const raw = Buffer.from(passwordHash, 'base64');
    // an empty hash is RabbitMQ's user without a password: nobody can log in as it
    if (raw.length !== 0 && raw.length !== 36) return undefined;
    const user: StoredUser = { name, tags, salt: raw.subarray(0, 4), hash: raw.subarray(4) };
    this.users.set(name, user);
    this.listener?.saved(user);
    return { name, tags };
  }

  /** Changes a user's tags, keeping the password. */
  setTags(name: string, tags: readonly string[]): boolean {
    const u = this.users.get(name);
    if (!u) return false;
    const user = { ...u, tags };
    this.users.set(name, user);
    this.listener?.saved(user);
    return true;
  }

  /** RabbitMQ's password_hash of a user: base64 of salt and hash. */
  passwordHash(name: string): string | undefined {
    const u = this.users.get(name);
    return u && Buffer.concat([u.salt, u.hash]).toString('base64');
  }

  /** Every user, in name order. */
  list(): User[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((u) => ({ name: u.name, tags: u.tags }));
  }

  delete(name: string): boolean {
    if (!this.users.delete(name)) return false;
    this.listener?.deleted(name);
    return true;
  }

  /** Brings back a user kept from before a restart. */
  restore(user: StoredUser): void {
    this.users.set(user.name, user);
  }

  get size(): number {
    return this.users.size;
  }

  get(name: string): User | undefined {
    const u = this.users.get(name);
    return u && { name: u.name, tags: u.tags };
  }

  /** The user when the password matches, else undefined (an unknown user and a wrong password look alike). */
  authenticate(name: string, password: string): User | undefined {
    const u = this.users.get(name);
    if (!u || u.hash.length === 0) return undefined;
    return timingSafeEqual(u.hash, hashPassword(u.salt, password)) ? { name: u.name, tags: u.tags } : undefined;
  }
}
