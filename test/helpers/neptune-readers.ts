import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Independent readers of the bronze table for tests: pyiceberg (Python, from PyPI via scripts/pyiceberg.sh),
 * ClickHouse's iceberg table functions through chDB (in a child process), and icebird (JavaScript).
 */

const root = fileURLToPath(new URL("../../", import.meta.url));

function run(command: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}) {
  return new Promise<string>((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? root, timeout: options.timeoutMs ?? 240_000, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${command} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

export interface PyicebergRead {
  schema: string[];
  spec: string;
  files: number;
  rows: Record<string, unknown>[];
}

function parsePyiceberg(output: string): PyicebergRead {
  const [head, ...lines] = output.trim().split("\n");
  const info = JSON.parse(head!) as Omit<PyicebergRead, "rows">;
  return {
    ...info,
    rows: lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** The table's rows (selected columns) as pyiceberg reads them from a metadata file. */
export async function pyicebergReadMetadata(
  metadataLocation: string,
  columns: string[],
): Promise<PyicebergRead> {
  const out = await run("bash", [
    "scripts/pyiceberg.sh",
    "python",
    "test/helpers/neptune-pyiceberg.py",
    "metadata",
    metadataLocation,
    columns.join(","),
  ]);
  return parsePyiceberg(out);
}

/** The table's rows as pyiceberg reads them through a REST catalog with S3 storage. */
export async function pyicebergReadRest(
  catalogUrl: string,
  table: string,
  s3Endpoint: string,
  columns: string[],
): Promise<PyicebergRead> {
  const out = await run("bash", [
    "scripts/pyiceberg.sh",
    "python",
    "test/helpers/neptune-pyiceberg.py",
    "rest",
    catalogUrl,
    table,
    s3Endpoint,
    columns.join(","),
  ]);
  return parsePyiceberg(out);
}

/**
 * Runs a query with chDB in a child process whose working directory is `cwd`: chDB lets file-based table
 * functions read only below the working directory, so a reader of a data folder outside the repository
 * starts there (docs/bronze.md).
 */
export async function chdbQuery<T = Record<string, unknown>>(query: string, cwd: string): Promise<T[]> {
  const script = `import { query } from "chdb"; process.stdout.write(query(process.argv[1], "JSONEachRow"));`;
  const out = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      script.replace('"chdb"', JSON.stringify(path.join(root, "node_modules/chdb/index.mjs"))),
      query,
    ],
    { cwd },
  );
  return out
    .trim()
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/**
 * icebird reads through fetch; plain absolute paths (what a local warehouse records) are served from the
 * file system here, with the HEAD and Range requests hyparquet makes.
 */
export async function icebirdRead(tableLocation: string): Promise<Record<string, unknown>[]> {
  const { icebergRead } = await import("icebird");
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("/")) return original(input, init);
    const file = decodeURIComponent(url);
    try {
      const size = (await stat(file)).size;
      if (init?.method === "HEAD")
        return new Response(null, { status: 200, headers: { "content-length": String(size) } });
      const bytes = await readFile(file);
      const range = /bytes=(\d+)-(\d*)/.exec(new Headers(init?.headers).get("range") ?? "");
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Number(range[2]) : size - 1;
        return new Response(bytes.subarray(start, end + 1), {
          status: 206,
          headers: {
            "content-range": `bytes ${start}-${end}/${size}`,
            "content-length": String(end - start + 1),
          },
        });
      }
      return new Response(bytes, { status: 200, headers: { "content-length": String(size) } });
    } catch {
      return new Response(null, { status: 404, statusText: "Not Found" });
    }
  }) as typeof fetch;
  try {
    return (await icebergRead({ tableUrl: tableLocation })) as Record<string, unknown>[];
  } finally {
    globalThis.fetch = original;
  }
}

/**
 * The table's rows as icebird reads them from S3-compatible storage. icebird turns `s3://bucket/key` into
 * `https://bucket.s3.amazonaws.com/key` and fetches it unsigned; those requests are answered here with
 * signed S3 calls to `endpoint` (path style), keeping the HEAD and Range semantics hyparquet relies on.
 */
export async function icebirdReadS3(
  tableLocation: string,
  metadataFileName: string,
  endpoint: string,
): Promise<Record<string, unknown>[]> {
  const { icebergRead } = await import("icebird");
  const { GetObjectCommand, HeadObjectCommand, S3Client } = await import("@aws-sdk/client-s3");
  const s3 = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "packetpulse", secretAccessKey: "packetpulse-secret" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const aws = /^https:\/\/([^./]+)\.s3\.amazonaws\.com\/([^?]*)$/.exec(url);
    if (!aws) return original(input, init);
    const target = { Bucket: aws[1]!, Key: decodeURIComponent(aws[2]!) };
    try {
      if (init?.method === "HEAD") {
        const head = await s3.send(new HeadObjectCommand(target));
        return new Response(null, { status: 200, headers: { "content-length": String(head.ContentLength) } });
      }
      const range = new Headers(init?.headers).get("range") ?? undefined;
      const object = await s3.send(new GetObjectCommand({ ...target, Range: range }));
      const body = await object.Body!.transformToByteArray();
      const headers: Record<string, string> = { "content-length": String(body.length) };
      if (object.ContentRange) headers["content-range"] = object.ContentRange;
      return new Response(body, { status: range ? 206 : 200, headers });
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 500;
      return new Response(null, { status, statusText: (error as Error).name });
    }
  }) as typeof fetch;
  try {
    return (await icebergRead({ tableUrl: tableLocation, metadataFileName })) as Record<string, unknown>[];
  } finally {
    globalThis.fetch = original;
    s3.destroy();
  }
}
