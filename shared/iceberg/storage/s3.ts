import type { S3Client } from "@aws-sdk/client-s3";
import { IcebergError } from "../errors.ts";
import type { WarehouseStorage } from "./types.ts";

export interface S3StorageOptions {
  region: string;
  /** S3-compatible endpoint (MinIO, moto); unset for AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Explicit credentials; unset uses the SDK's default chain (Lambda role, environment, profile). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

function splitLocation(location: string): { bucket: string; key: string } {
  const match = /^s3a?:\/\/([^/]+)\/(.*)$/.exec(location);
  if (!match) throw new IcebergError(`not an S3 location: ${location} (expected s3://bucket/key)`);
  return { bucket: match[1]!, key: match[2]! };
}

const isMissing = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
};

/**
 * A warehouse in an S3-compatible bucket. The SDK is imported when this backend is chosen, so embedded
 * deployments never load it. Checksums are computed only when the API requires them: with the SDK's
 * default, streamed uploads to S3-compatible servers were stored with aws-chunked framing (see the
 * architecture notes).
 */
export async function s3Storage(options: S3StorageOptions): Promise<WarehouseStorage> {
  const sdk = await import("@aws-sdk/client-s3");
  const client: S3Client = new sdk.S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  return {
    kind: "s3",
    async read(location) {
      const { bucket, key } = splitLocation(location);
      const response = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!response.Body) throw new IcebergError(`empty response reading ${location}`);
      return Buffer.from(await response.Body.transformToByteArray());
    },
    async write(location, bytes) {
      const { bucket, key } = splitLocation(location);
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    async writeIfAbsent(location, bytes) {
      const { bucket, key } = splitLocation(location);
      try {
        await client.send(
          new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, IfNoneMatch: "*" }),
        );
        return true;
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 412 || status === 409) return false;
        throw error;
      }
    },
    async exists(location) {
      const { bucket, key } = splitLocation(location);
      try {
        await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },
    async list(folder) {
      const { bucket, key } = splitLocation(folder.endsWith("/") ? folder : `${folder}/`);
      const locations: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key) locations.push(`s3://${bucket}/${object.Key}`);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return locations;
    },
    async delete(location) {
      const { bucket, key } = splitLocation(location);
      await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async close() {
      client.destroy();
    },
  };
}
