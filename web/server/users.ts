import { decoyHash, verifyPassword } from "./passwords.ts";

/**
 * Mercury's accounts and their saved queries, behind one interface: a SQLite file in the data folder
 * (users-sqlite.ts: embedded mode, one writer, the Mercury process) or a DynamoDB table (users-dynamo.ts:
 * Mercury on Lambda). Each backend is imported only where it is chosen (better-sqlite3 is not in the Lambda zip).
 */

export type Role = "admin" | "viewer";

export interface MercuryUser {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
}

/** A SQL query a user saved on the SQL page, under a name unique for that user. */
export interface SavedQuery {
  id: string;
  name: string;
  sql: string;
  updatedAt: string;
}

export interface UserStore {
  count(): Promise<number>;
  list(): Promise<MercuryUser[]>;
  byId(id: string): Promise<MercuryUser | undefined>;
  /** Throws UserStoreError when the email (in any case) already has an account. */
  create(email: string, password: string, role: Role): Promise<MercuryUser>;
  /** The user with that email and password, or undefined; as slow for an unknown email as for a known one. */
  authenticate(email: string, password: string): Promise<MercuryUser | undefined>;
  changePassword(id: string, current: string, next: string): Promise<boolean>;
  /** Throws UserStoreError for the last admin's demotion. */
  setRole(id: string, role: Role): Promise<void>;
  /** Deletes the account and its saved queries; throws UserStoreError for the last admin. */
  delete(id: string): Promise<void>;
  /** The user's saved queries, by name. */
  listQueries(userId: string): Promise<SavedQuery[]>;
  /** Saves a query under its name, replacing the user's query of the same name. */
  saveQuery(userId: string, name: string, sql: string): Promise<SavedQuery>;
  deleteQuery(userId: string, queryId: string): Promise<void>;
  close(): Promise<void>;
}

/** At most this many saved queries per user (the SQL page lists them all). */
export const MAX_SAVED_QUERIES = 200;

export class UserStoreError extends Error {
  override name = "UserStoreError";
}

export const LAST_ADMIN_ROLE = "The last admin cannot lose the role";
export const LAST_ADMIN_DELETE = "The last admin account cannot be deleted";
export const tooManyQueries = () =>
  new UserStoreError(`At most ${MAX_SAVED_QUERIES} saved queries: delete one first`);
export const emailTaken = (email: string, cause?: unknown) =>
  new UserStoreError(`An account with the email ${email} already exists`, { cause });

/** The user with that password hash, or undefined; an unknown user costs a decoy hash (same timing). */
export async function checkPassword<T>(
  found: { user: T; hash: string } | undefined,
  password: string,
): Promise<T | undefined> {
  if (!found) {
    await verifyPassword(password, await decoyHash());
    return undefined;
  }
  return (await verifyPassword(password, found.hash)) ? found.user : undefined;
}
