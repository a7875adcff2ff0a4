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
    if (!u) return undefined;
    return timingSafeEqual(u.hash, hashPassword(u.salt, password)) ? { name: u.name, tags: u.tags } : undefined;
  }
}
