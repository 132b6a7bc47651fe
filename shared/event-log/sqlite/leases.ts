import type Database from "better-sqlite3";
import type { LogStatements } from "./statements.ts";
import type { LeaseIsFree, LeaseOwner, PartitionRef } from "./store-types.ts";

/**
 * Consumer-group membership in the embedded log: each partition of a group is leased to one member at a
 * time, and only the lease holder may commit the group's offset for it.
 */
export class GroupLeases {
  constructor(
    private readonly db: Database.Database,
    private readonly statements: LogStatements,
  ) {}

  /**
   * Takes or renews the lease of each wanted partition that is free, already ours, or held by a member that
   * `leaseIsFree` declares gone. Returns the partitions this member now owns, with the offset to resume from
   * for those it did not own before (`startAt` picks it when the group has no committed offset).
   */
  claim(
    owner: LeaseOwner,
    wanted: PartitionRef[],
    alreadyOwned: (ref: PartitionRef) => boolean,
    leaseIsFree: LeaseIsFree,
    startAt: (ref: PartitionRef) => "earliest" | "latest",
    now: number,
  ): { ref: PartitionRef; resumeAt: number | null }[] {
    const s = this.statements;
    return this.db
      .transaction(() => {
        const owned: { ref: PartitionRef; resumeAt: number | null }[] = [];
        for (const ref of wanted) {
          const lease = s.lease.get(owner.groupId, ref.topicId, ref.partition);
          if (lease !== undefined && lease.member_id !== owner.memberId && !leaseIsFree(lease)) continue;
          s.upsertLease.run(
            owner.groupId,
            ref.topicId,
            ref.partition,
            owner.memberId,
            owner.instance,
            owner.pid,
            owner.host,
            now,
          );
          const keepPosition = lease?.member_id === owner.memberId && alreadyOwned(ref);
          if (keepPosition) {
            owned.push({ ref, resumeAt: null });
            continue;
          }
          owned.push({ ref, resumeAt: this.resumeOffset(owner.groupId, ref, startAt) });
        }
        return owned;
      })
      .immediate();
  }

  /** Commits `offset` (the next record to read) for the group if this member still holds the lease. */
  commit(owner: LeaseOwner, ref: PartitionRef, offset: number, now: number): boolean {
    const s = this.statements;
    return this.db
      .transaction(() => {
        const lease = s.lease.get(owner.groupId, ref.topicId, ref.partition);
        if (lease?.member_id !== owner.memberId) return false;
        s.upsertCommitted.run(owner.groupId, ref.topicId, ref.partition, offset, now);
        return true;
      })
      .immediate();
  }

  release(groupId: string, memberId: string): void {
    this.statements.releaseLeases.run(groupId, memberId);
  }

  committedOffsets(groupId: string, topicId: number): Map<number, number> {
    const rows = this.statements.committed.all(groupId, topicId);
    return new Map(rows.map((row) => [row.partition, row.committed_offset]));
  }

  /** Where a newly leased partition resumes: the group's committed offset, else the earliest or latest. */
  private resumeOffset(
    groupId: string,
    ref: PartitionRef,
    startAt: (ref: PartitionRef) => "earliest" | "latest",
  ): number {
    const s = this.statements;
    const committed = s.committedOne.get(groupId, ref.topicId, ref.partition);
    const low = s.lowOffset.get(ref.topicId, ref.partition)!;
    // A committed offset that retention overtook resumes at the first retained record.
    if (committed !== undefined) return Math.max(committed, low);
    if (startAt(ref) === "earliest") return low;
    return s.nextOffset.get(ref.topicId, ref.partition)!;
  }
}
