import { CommitConflictError, IcebergError } from "../errors.ts";
import { parseIcebergJson, stringifyIcebergJson } from "../json.ts";
import { normaliseMetadata } from "../metadata.ts";
import type { TableIdentifier, TableMetadata } from "../types.ts";
import type { IcebergCatalog, LoadedTable } from "./types.ts";

export interface RestCatalogOptions {
  url: string;
  /** Warehouse name or location sent to `GET /v1/config` (optional for most servers). */
  warehouse?: string;
  /** Bearer token, when the catalog requires one. */
  token?: string;
  fetch?: typeof fetch;
}

/**
 * An Iceberg REST catalog (https://iceberg.apache.org/rest-catalog-spec/): the server owns the metadata
 * pointer and applies a commit only if its requirements hold (`assert-ref-snapshot-id` on the base
 * snapshot), answering 409 otherwise. The catalog writes the metadata JSON itself; the client writes data
 * files, manifests and manifest lists to the warehouse storage.
 */
export async function restCatalog(options: RestCatalogOptions): Promise<IcebergCatalog> {
  const fetchImpl = options.fetch ?? fetch;
  const base = options.url.replace(/\/+$/, "");
  const request = async (method: string, path: string, body?: unknown) => {
    const response = await fetchImpl(`${base}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: body === undefined ? undefined : stringifyIcebergJson(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text ? parseIcebergJson(text, `${method} ${path}`) : undefined,
      text,
    };
  };
  const fail = (what: string, response: { status: number; text: string }): never => {
    throw new IcebergError(
      `Iceberg REST catalog at ${base}: ${what} failed with HTTP ${response.status}: ${response.text.slice(0, 500)}`,
    );
  };

  let prefix = "";
  try {
    const query = options.warehouse ? `?warehouse=${encodeURIComponent(options.warehouse)}` : "";
    const config = await request("GET", `/v1/config${query}`);
    if (config.status !== 200) fail("GET /v1/config", config);
    const body = config.body as { overrides?: Record<string, string>; defaults?: Record<string, string> };
    const configured = body.overrides?.prefix ?? body.defaults?.prefix;
    if (configured) prefix = `/${encodeURIComponent(configured)}`;
  } catch (error) {
    if (error instanceof IcebergError) throw error;
    throw new IcebergError(
      `cannot reach the Iceberg REST catalog at ${base} (check ICEBERG_REST_URL): ${(error as Error).message}`,
      { cause: error },
    );
  }
  // Multi-level namespaces are joined with the unit separator (0x1F), as the spec says.
  const ns = (id: TableIdentifier) => encodeURIComponent(id.namespace.join("\u001f"));
  const tablePath = (id: TableIdentifier) =>
    `/v1${prefix}/namespaces/${ns(id)}/tables/${encodeURIComponent(id.name)}`;
  const loaded = (body: unknown): LoadedTable => {
    const b = body as { "metadata-location": string; metadata: TableMetadata };
    return { metadataLocation: b["metadata-location"], metadata: normaliseMetadata(b.metadata) };
  };

  const loadTable = async (id: TableIdentifier) => {
    const response = await request("GET", tablePath(id));
    if (response.status === 404) return undefined;
    if (response.status !== 200) fail(`loading ${id.name}`, response);
    return loaded(response.body);
  };

  return {
    kind: "rest",
    loadTable,
    async createTable(id, create) {
      const existing = await loadTable(id);
      if (existing) return existing;
      const namespace = await request("POST", `/v1${prefix}/namespaces`, {
        namespace: id.namespace,
        properties: {},
      });
      if (namespace.status !== 200 && namespace.status !== 409)
        fail(`creating namespace ${id.namespace.join(".")}`, namespace);
      const response = await request("POST", `/v1${prefix}/namespaces/${ns(id)}/tables`, {
        name: id.name,
        schema: create.schema,
        "partition-spec": create.spec,
        "write-order": { "order-id": 0, fields: [] },
        properties: create.properties,
        "stage-create": false,
      });
      if (response.status === 409) {
        const winner = await loadTable(id);
        if (winner) return winner;
      }
      if (response.status !== 200) fail(`creating table ${id.name}`, response);
      return loaded(response.body);
    },
    async commit(id, requirements, updates) {
      const response = await request("POST", tablePath(id), {
        identifier: { namespace: id.namespace, name: id.name },
        requirements,
        updates,
      });
      if (response.status === 409) {
        throw new CommitConflictError(`the catalog rejected the commit: ${response.text.slice(0, 300)}`);
      }
      if (response.status !== 200) fail(`committing to ${id.name}`, response);
      return loaded(response.body);
    },
    async close() {},
  };
}
