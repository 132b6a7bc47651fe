import { z } from "zod";
import { PacketPulseError } from "#shared/errors.ts";

/**
 * Lambda's Kafka event (MSK and self-managed share it): records grouped by "topic-partition", base64 key
 * and value, and headers as one object per header mapping its name to the value's bytes.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html
 */
const kafkaEventRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  timestamp: z.number().int(),
  timestampType: z.string().optional(),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(z.record(z.string(), z.array(z.number().int().min(0).max(255)))).default([]),
});

export const kafkaEventSchema = z.object({
  eventSource: z.string(),
  records: z.record(z.string(), z.array(kafkaEventRecord)),
});

export type KafkaEventInput = z.infer<typeof kafkaEventSchema>;

/** One Kafka record of the `sessions` topic, decoded from the Lambda event. */
export interface SessionsRecord {
  topic: string;
  partition: number;
  offset: number;
  /** CreateTime in ms since the epoch: when Venus received the event. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, Buffer>;
}

export class KafkaEventError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KafkaEventError";
  }
}

/** Parses a Lambda Kafka event; throws a {@link KafkaEventError} naming the first wrong field. */
export function decodeKafkaEvent(event: unknown): SessionsRecord[] {
  const parsed = kafkaEventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KafkaEventError(
      `Not a Kafka event: ${issue?.path.join(".") || "event"} ${issue?.message ?? "is invalid"}`,
      { cause: parsed.error },
    );
  }
  const records: SessionsRecord[] = [];
  for (const list of Object.values(parsed.data.records)) {
    for (const record of list) {
      const headers: Record<string, Buffer> = {};
      for (const header of record.headers) {
        for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes);
      }
      records.push({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key ? Buffer.from(record.key, "base64") : null,
        value: Buffer.from(record.value ?? "", "base64"),
        headers,
      });
    }
  }
  return records;
}

/** "topic-partition", the `partition` of a batch item failure identifier. */
export const partitionKey = (record: { topic: string; partition: number }) =>
  `${record.topic}-${record.partition}`;
