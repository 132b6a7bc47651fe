/**
 * Where the pipeline_freshness model learns the newest event time of bronze. Bronze lives outside
 * ClickHouse (Iceberg tables written by Neptune), so it is a pluggable source; without one the bronze row
 * says `available = 0`.
 */
export interface BronzeFreshnessSource {
  /** The newest event time in bronze, or null when bronze holds no event yet. */
  newestEventAt(): Promise<Date | null>;
}

export interface BronzeFreshness {
  available: boolean;
  newestEventAt: Date | null;
}

/** Asks the source; a source that fails counts as unavailable for this run rather than failing the model. */
export async function readBronzeFreshness(
  source: BronzeFreshnessSource | undefined,
): Promise<BronzeFreshness> {
  if (!source) return { available: false, newestEventAt: null };
  try {
    return { available: true, newestEventAt: await source.newestEventAt() };
  } catch {
    return { available: false, newestEventAt: null };
  }
}
