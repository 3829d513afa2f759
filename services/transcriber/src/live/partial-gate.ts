export type DropReason = 'stale' | 'superseded';

interface SegmentState {
  /** End of the newest partial seen for the utterance. */
  latestPartialEndMs: number;
  finalSeen: boolean;
}

/**
 * Decides which partials are still worth transcribing. A partial is dropped when its audio ended more than
 * `maxAgeMs` ago (we are behind and its final is coming), or when this replica has already seen a newer
 * partial or the final of the same utterance. Finals are never gated. Memory is bounded: the oldest
 * utterances are forgotten first.
 */
export class PartialGate {
  private readonly segments = new Map<string, SegmentState>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxSegments = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a partial as soon as it is received, so older ones still waiting can be dropped. */
  notePartial(segmentId: string, endMs: number): void {
    const state = this.state(segmentId);
    state.latestPartialEndMs = Math.max(state.latestPartialEndMs, endMs);
  }

  noteFinal(segmentId: string): void {
    this.state(segmentId).finalSeen = true;
  }

  /** Why this partial should be dropped now, or null to transcribe it. */
  check(segment: { segmentId: string; endMs: number; audioEndAt: string }): DropReason | null {
    if (this.superseded(segment)) return 'superseded';
    if (this.now() - Date.parse(segment.audioEndAt) > this.maxAgeMs) return 'stale';
    return null;
  }

  /** A newer partial or the final of the same utterance has been seen. */
  superseded(segment: { segmentId: string; endMs: number }): boolean {
    const state = this.segments.get(segment.segmentId);
    return state !== undefined && (state.finalSeen || state.latestPartialEndMs > segment.endMs);
  }

  private state(segmentId: string): SegmentState {
    let state = this.segments.get(segmentId);
    if (state) return state;
    state = { latestPartialEndMs: -1, finalSeen: false };
    this.segments.set(segmentId, state);
    if (this.segments.size > this.maxSegments) {
      const oldest = this.segments.keys().next().value;
      if (oldest !== undefined) this.segments.delete(oldest);
    }
    return state;
  }
}
