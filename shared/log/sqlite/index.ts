export { openSqliteEventLog, SqliteEventLog, type SqliteEventLogOptions } from "./SqliteEventLog.ts";
