import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type EncodedRecord, LogStore, type StoredRecord } from "#shared/event-log/sqlite/log-store.ts";
import { prepareDatabase } from "#shared/event-log/sqlite/schema.ts";

/**
 * The embedded log's read path: SQLite hands a slice of records over as one byte string that LogStore cuts
 * back into records. Every byte of keys, values and headers must come back as it was written.
 */
describe("LogStore.fetch", () => {
  let db: Database.Database;
  let store: LogStore;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "packetpulse-log-store-"));
    db = new Database(path.join(dir, "events.db"));
    prepareDatabase(db, 1_000);
    store = new LogStore(db);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const records: EncodedRecord[] = [
    // Every byte value, NUL and invalid UTF-8 included.
    { partition: 0, timestamp: 1_714_550_000_000, key: Buffer.from("k-0"), value: every, headers: null },
    { partition: 0, timestamp: 0, key: Buffer.alloc(0), value: Buffer.alloc(0), headers: "{}" },
    {
      partition: 0,
      timestamp: 253_402_300_799_999,
      key: Buffer.from("κλειδί 🚚", "utf8"),
      value: Buffer.from([0xff, 0xfe, 0x00, 0x20, 0x2d, 0x31, 0x20]),
      headers: JSON.stringify({ event_id: 'Ωmega " quote', schema_version: "2" }),
    },
    {
      partition: 0,
      timestamp: -1,
      key: Buffer.from("- 1 "),
      value: Buffer.from("1 2 3 4 5 "),
      headers: null,
    },
  ];

  function appendAll(topicName: string, list: EncodedRecord[]) {
    const topic = store.createTopic(topicName, 2, Date.now());
    store.append([{ topic, records: list }], Date.now());
    return { topicId: topic.topicId };
  }

  const plain = (r: StoredRecord) => ({
    record_offset: r.record_offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : [...r.key],
    value: r.value === null ? null : [...r.value],
    headers: r.headers,
  });

  it("returns every byte of keys, values and headers, NULLs and empty values as written", () => {
    // Prepare
    const { topicId } = appendAll("sessions", records);
    // A NULL key and value are only possible through SQL, not through append(); a reader must still cope.
    db.prepare(
      "INSERT INTO records (topic_id, partition, record_offset, timestamp, appended_at, key, value, headers) VALUES (?, 0, 4, 7, 7, NULL, NULL, NULL)",
    ).run(topicId);

    // Act
    const fetched = store.fetch({ topicId, partition: 0 }, 0, 100).map(plain);

    // Assess
    expect(fetched).toEqual([
      ...records.map((r, i) => ({
        record_offset: i,
        timestamp: r.timestamp,
        key: [...r.key],
        value: [...r.value],
        headers: r.headers,
      })),
      { record_offset: 4, timestamp: 7, key: null, value: null, headers: null },
    ]);
  });

  it("reads from an offset, up to a limit, in offset order, and nothing past the end or in another partition", () => {
    // Prepare
    const many = Array.from({ length: 2_500 }, (_, i) => ({
      partition: i % 2,
      timestamp: 1_000 + i,
      key: Buffer.from(`key-${i}`),
      value: Buffer.from(JSON.stringify({ i })),
      headers: JSON.stringify({ n: String(i) }),
    }));
    const { topicId } = appendAll("pings", many);

    // Act
    const middle = store.fetch({ topicId, partition: 1 }, 100, 1_000);
    const tail = store.fetch({ topicId, partition: 1 }, 1_200, 1_000);
    const past = store.fetch({ topicId, partition: 1 }, 1_250, 10);

    // Assess
    expect(middle.map((r) => r.record_offset)).toEqual(Array.from({ length: 1_000 }, (_, i) => 100 + i));
    expect(middle.map((r) => JSON.parse(r.value!.toString()).i)).toEqual(
      Array.from({ length: 1_000 }, (_, i) => 2 * (100 + i) + 1),
    );
    expect(tail.map((r) => r.headers)).toEqual(
      Array.from({ length: 50 }, (_, i) => JSON.stringify({ n: String(2 * (1_200 + i) + 1) })),
    );
    expect(past).toEqual([]);
  });

  it("reads row by row when SQLite refuses the slice as one string (SQLITE_TOOBIG)", () => {
    // Prepare
    const { topicId } = appendAll("sessions", records);
    // A slice over SQLite's string limit (1 GB) is impractical in a test: the slab statement is swapped for one
    // that makes SQLite raise the same error for real.
    const statements = (store as unknown as { statements: Record<string, unknown> }).statements;
    statements.fetchSlab = db.prepare("SELECT zeroblob(2000000000) WHERE ? + ? + ? + ? IS NOT NULL").pluck();

    // Act
    const fetched = store.fetch({ topicId, partition: 0 }, 1, 2).map(plain);

    // Assess
    expect(fetched.map((r) => r.record_offset)).toEqual([1, 2]);
    expect(fetched[1]!.key).toEqual([...records[2]!.key]);
    expect(fetched[1]!.headers).toBe(records[2]!.headers);
  });

  it("puts records in offset order should SQLite ever concatenate them in another order", () => {
    // Prepare
    const { topicId } = appendAll("sessions", records);
    // SQLite does not promise the order in which an aggregate sees its rows: the slab statement is swapped
    // for one that concatenates them backwards.
    const statements = (store as unknown as { statements: Record<string, unknown> }).statements;
    statements.fetchSlab = db
      .prepare(
        `SELECT CAST(group_concat(record_offset || ' ' || timestamp || ' ' || octet_length(key) || ' '
           || octet_length(value) || ' ' || coalesce(octet_length(headers), -1) || ' ' || key || value
           || coalesce(headers, ''), '' ORDER BY record_offset DESC) AS BLOB)
         FROM records WHERE topic_id = ? AND partition = ? AND record_offset >= ? AND record_offset < ? + 1000`,
      )
      .pluck();

    // Act
    const fetched = store.fetch({ topicId, partition: 0 }, 0, 0).map(plain);

    // Assess
    expect(fetched.map((r) => r.record_offset)).toEqual([0, 1, 2, 3]);
    expect(fetched.map((r) => r.value)).toEqual(records.map((r) => [...r.value]));
  });
});
