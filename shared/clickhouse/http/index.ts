/** ClickHouse's HTTP interface over the embedded store, and how tools find a running one. */
export { ClickHouseHttpError } from "./errors.ts";
export { ADDRESS_FILE, clickhouseForTools, findRunningStore } from "./running.ts";
export { serveEmbeddedStore } from "./serve.ts";
export { type ClickHouseHttpServer, startClickHouseHttp } from "./server.ts";
