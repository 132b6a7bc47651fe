import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { decoyHash, hashPassword, verifyPassword } from "./passwords.ts";

/** Mercury's accounts, in one SQLite file in the data folder (durable, one writer: the Mercury process). */

export type Role = "admin" | "viewer";

export interface MercuryUser {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
}

interface UserRow {
  id: string;
  email: string;
  role: Role;
  password_hash: string;
  created_at: string;
}

export class UserStoreError extends Error {
  override name = "UserStoreError";
}

function toUser(row: UserRow): MercuryUser {
  return { id: row.id, email: row.email, role: row.role, createdAt: row.created_at };
}

export class UserStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.exec(`CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY,
      email TEXT NOT NULL UNIQUE COLLATE NOCASE,
      role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
      password_hash TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  list(): MercuryUser[] {
    return (this.db.prepare("SELECT * FROM users ORDER BY email").all() as UserRow[]).map(toUser);
  }

  byId(id: string): MercuryUser | undefined {
    const row = this.db.prepare("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  async create(email: string, password: string, role: Role): Promise<MercuryUser> {
    const hash = await hashPassword(password);
    const user = { id: randomUUID(), email: email.toLowerCase(), role, createdAt: new Date().toISOString() };
    try {
      this.db
        .prepare("INSERT INTO users (id, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
        .run(user.id, user.email, role, hash, user.createdAt);
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new UserStoreError(`An account with the email ${user.email} already exists`, { cause: error });
      }
      throw error;
    }
    return user;
  }

  /** The user with that email and password, or undefined; as slow for an unknown email as for a known one. */
  async authenticate(email: string, password: string): Promise<MercuryUser | undefined> {
    const row = this.db.prepare("SELECT * FROM users WHERE email = ?").get(email) as UserRow | undefined;
    if (!row) {
      await verifyPassword(password, await decoyHash());
      return undefined;
    }
    return (await verifyPassword(password, row.password_hash)) ? toUser(row) : undefined;
  }

  async changePassword(id: string, current: string, next: string): Promise<boolean> {
    const row = this.db.prepare("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    if (!row || !(await verifyPassword(current, row.password_hash))) return false;
    this.db.prepare("UPDATE users SET password_hash = ? WHERE id = ?").run(await hashPassword(next), id);
    return true;
  }

  setRole(id: string, role: Role): void {
    if (role !== "admin" && this.isLastAdmin(id))
      throw new UserStoreError("The last admin cannot lose the role");
    this.db.prepare("UPDATE users SET role = ? WHERE id = ?").run(role, id);
  }

  delete(id: string): void {
    if (this.isLastAdmin(id)) throw new UserStoreError("The last admin account cannot be deleted");
    this.db.prepare("DELETE FROM users WHERE id = ?").run(id);
  }

  private isLastAdmin(id: string): boolean {
    const user = this.byId(id);
    if (user?.role !== "admin") return false;
    return (
      (this.db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n <= 1
    );
  }

  close(): void {
    this.db.close();
  }
}
