import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { hashPassword, verifyPassword } from "./passwords.ts";
import {
  checkPassword,
  emailTaken,
  LAST_ADMIN_DELETE,
  LAST_ADMIN_ROLE,
  MAX_SAVED_QUERIES,
  type MercuryUser,
  type Role,
  type SavedQuery,
  tooManyQueries,
  type UserStore,
  UserStoreError,
} from "./users.ts";

/** Accounts and saved queries in one SQLite file in the data folder (durable; one writer, the Mercury process). */

interface UserRow {
  id: string;
  email: string;
  role: Role;
  password_hash: string;
  created_at: string;
}

interface QueryRow {
  id: string;
  name: string;
  sql: string;
  updated_at: string;
}

function toUser(row: UserRow): MercuryUser {
  return { id: row.id, email: row.email, role: row.role, createdAt: row.created_at };
}

function toQuery(row: QueryRow): SavedQuery {
  return { id: row.id, name: row.name, sql: row.sql, updatedAt: row.updated_at };
}

export class SqliteUserStore implements UserStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("foreign_keys = ON");
    this.db.exec(`CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY,
      email TEXT NOT NULL UNIQUE COLLATE NOCASE,
      role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
      password_hash TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS saved_queries (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      sql TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      UNIQUE (user_id, name)
    )`);
  }

  async count(): Promise<number> {
    return (this.db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  async list(): Promise<MercuryUser[]> {
    return (this.db.prepare("SELECT * FROM users ORDER BY email").all() as UserRow[]).map(toUser);
  }

  async byId(id: string): Promise<MercuryUser | undefined> {
    const row = this.row(id);
    return row && toUser(row);
  }

  private row(id: string): UserRow | undefined {
    return this.db.prepare("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
  }

  async create(email: string, password: string, role: Role): Promise<MercuryUser> {
    const hash = await hashPassword(password);
    const user = { id: randomUUID(), email: email.toLowerCase(), role, createdAt: new Date().toISOString() };
    try {
      this.db
        .prepare("INSERT INTO users (id, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
        .run(user.id, user.email, role, hash, user.createdAt);
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE")
        throw emailTaken(user.email, error);
      throw error;
    }
    return user;
  }

  async authenticate(email: string, password: string): Promise<MercuryUser | undefined> {
    const row = this.db.prepare("SELECT * FROM users WHERE email = ?").get(email) as UserRow | undefined;
    return checkPassword(row && { user: toUser(row), hash: row.password_hash }, password);
  }

  async changePassword(id: string, current: string, next: string): Promise<boolean> {
    const row = this.row(id);
    if (!row || !(await verifyPassword(current, row.password_hash))) return false;
    this.db.prepare("UPDATE users SET password_hash = ? WHERE id = ?").run(await hashPassword(next), id);
    return true;
  }

  async setRole(id: string, role: Role): Promise<void> {
    if (role !== "admin" && this.isLastAdmin(id)) throw new UserStoreError(LAST_ADMIN_ROLE);
    this.db.prepare("UPDATE users SET role = ? WHERE id = ?").run(role, id);
  }

  async delete(id: string): Promise<void> {
    if (this.isLastAdmin(id)) throw new UserStoreError(LAST_ADMIN_DELETE);
    this.db.prepare("DELETE FROM users WHERE id = ?").run(id);
  }

  private isLastAdmin(id: string): boolean {
    if (this.row(id)?.role !== "admin") return false;
    return (
      (this.db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n <= 1
    );
  }

  async listQueries(userId: string): Promise<SavedQuery[]> {
    return (
      this.db
        .prepare("SELECT * FROM saved_queries WHERE user_id = ? ORDER BY name COLLATE NOCASE")
        .all(userId) as QueryRow[]
    ).map(toQuery);
  }

  async saveQuery(userId: string, name: string, sql: string): Promise<SavedQuery> {
    const save = this.db.transaction(() => {
      const existing = this.db
        .prepare("SELECT * FROM saved_queries WHERE user_id = ? AND name = ?")
        .get(userId, name) as QueryRow | undefined;
      const count = (
        this.db.prepare("SELECT count(*) AS n FROM saved_queries WHERE user_id = ?").get(userId) as {
          n: number;
        }
      ).n;
      if (!existing && count >= MAX_SAVED_QUERIES) throw tooManyQueries();
      const query = { id: existing?.id ?? randomUUID(), name, sql, updatedAt: new Date().toISOString() };
      this.db
        .prepare(
          `INSERT INTO saved_queries (id, user_id, name, sql, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_id, name) DO UPDATE SET sql = excluded.sql, updated_at = excluded.updated_at`,
        )
        .run(query.id, userId, name, sql, query.updatedAt);
      return query;
    });
    return save();
  }

  async deleteQuery(userId: string, queryId: string): Promise<void> {
    this.db.prepare("DELETE FROM saved_queries WHERE id = ? AND user_id = ?").run(queryId, userId);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
